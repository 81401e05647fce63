"""``apply`` names the applied file's own paths, and the stored entities it breaks by their
ids, never paths of the merged whole that are not in the file (issue 16)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from pingtree.config.apply import apply_config
from pingtree.config.errors import ConfigError
from pingtree.store.tables import Base

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'config.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


PETS = """
verticals:
  - id: pets
    name: Pets
    fields:
      - {name: zip, type: zip, ping: required}
      - {name: species, type: enum, values: [dog, cat]}
"""

STORED = (
    PETS
    + """
buyers:
  - id: first
    orders:
      - {id: first_cats, vertical: pets, pricing: {type: fixed, exclusive: 20}}
  - id: fido
    orders:
      - {id: fido_any, vertical: pets, pricing: {type: fixed, exclusive: 20}}
      - id: fido_dogs
        vertical: pets
        pricing: {type: fixed, exclusive: 25}
        filters: {all: [{field: species, op: eq, value: dog}]}
"""
)

#: the vertical without its species field: the stored fido_dogs filters on it
ONLY_VERTICALS = """
verticals:
  - id: pets
    name: Pets
    fields:
      - {name: zip, type: zip, ping: required}
"""


async def test_a_file_of_verticals_that_breaks_a_stored_order_names_the_order(
    sessions: Sessions,
) -> None:
    await apply_config(sessions, STORED, T0)
    with pytest.raises(ConfigError) as caught:
        await apply_config(sessions, ONLY_VERTICALS, T0)
    text = str(caught.value)
    assert "buyers[1]" not in text, text
    assert "orders[1]" not in text, text
    (issue,) = caught.value.issues
    assert issue.path.startswith("order fido_dogs of buyer fido: filters"), issue.path
    assert "not in the applied file, which holds verticals pets" in issue.msg


async def test_an_issue_in_the_file_keeps_the_files_own_path(sessions: Sessions) -> None:
    await apply_config(sessions, STORED, T0)
    # the file's only buyer is the stored document's second: its path is the file's
    text = """
buyers:
  - id: fido
    orders:
      - {id: fido_any, vertical: pets, pricing: {type: fixed, exclusive: -1}}
"""
    with pytest.raises(ConfigError) as caught:
        await apply_config(sessions, text, T0)
    assert [i.path for i in caught.value.issues] == ["buyers[0].orders[0].pricing.exclusive"]
