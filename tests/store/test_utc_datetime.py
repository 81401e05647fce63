"""The UTC datetime type's SQLite binds are SQLAlchemy's own, made in one step."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from pingtree.store.tables.base import UtcDateTime

SQLITE = sqlite.dialect()
EAST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 6, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 7, 3, 15, 7, 120, tzinfo=EAST),
        dt.datetime(1, 1, 1, 0, 0, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC),
    ],
)
def test_a_sqlite_bind_is_what_sqlalchemy_would_store(value: dt.datetime) -> None:
    utc = UtcDateTime()
    bind = utc.dialect_impl(SQLITE).bind_processor(SQLITE)
    sqlalchemys = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert bind is not None
    assert sqlalchemys is not None
    assert bind(value) == sqlalchemys(utc.process_bind_param(value, SQLITE))
    assert bind(None) is None


def test_a_naive_datetime_is_refused() -> None:
    bind = UtcDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert bind is not None
    with pytest.raises(ValueError, match="naive"):
        bind(dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC).replace(tzinfo=None))
