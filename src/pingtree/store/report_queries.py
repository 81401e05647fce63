"""The SQL behind the reports (:mod:`pingtree.store.reports`): counts from the traffic tables,
money from the ledger, grouped by a key, the same on SQLite and PostgreSQL.

Where each figure comes from:

- ``pings``, ``accepted_pings``: pings by their ``created_at``;
- ``leads``, ``posts``: leads by their ``created_at`` (for a buyer or an order: the distinct
  leads with a sale of any status);
- ``sold``, ``sales``: sales of status ``sold`` by their ``created_at``, returned later or
  not (the gross count); ``returned``: sales by their ``returned_at``, the day the return
  was approved;
- the money: ledger entries of a sale (``sale_id`` set) by their ``at``. Gross revenue is what
  buyers were charged (``sale`` entries and the ``adjustment`` entries of their accounts,
  negated); returns what they were credited back (``return``); gross cost what suppliers
  earned (``payout`` and their ``adjustment``); chargebacks what they were charged back
  (``chargeback``, negated). A return or a chargeback is dated its approval, so a closed
  period never changes (DESIGN §8.7).

Operators' top-ups and adjustments of an account carry no sale: they move balances (a buyer
prepaying, the marketplace paying a supplier what it owes), not what a lead earned, so no
report counts them.

A group's key is a column of the rows (a supplier, a campaign…), a field of the lead (a
``sub_id``, a ``utm_source``…: sales and entries are joined to their lead) or a row's bucket
of time (:func:`bucket_key`). Keys are grouped by their output column's name: PostgreSQL
would not match a JSON path's parameter or a bucket's ``CASE`` written twice.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.money import from_cents
from pingtree.domain.report_days import Bucket, OffsetSpan
from pingtree.store.ledger import EntryKind
from pingtree.store.tables import Lead, LedgerEntry, Ping, Sale

__all__ = ["MONEY", "ZERO", "Grouping", "bucket_key", "column_key", "field_key", "gather"]

#: the figures that are money (``Decimal``), the rest are counts
MONEY = ("gross_revenue", "returns", "gross_cost", "chargebacks")
ZERO: dict[str, Any] = {
    "pings": 0,
    "accepted_pings": 0,
    "leads": 0,
    "posts": 0,
    "sold": 0,
    "sales": 0,
    "returned": 0,
    **{name: Decimal("0.00") for name in MONEY},
}
SECONDS: dict[Bucket, int] = {"day": 86_400, "hour": 3_600}

#: the output name of a group's key: no table has such a column, so neither engine reads
#: it as one
_KEY = "report_key"


@dataclass(frozen=True)
class Grouping:
    """How rows fall into groups: ``key(table, moment)`` is the key of a row of ``table``
    (``Ping``, ``Lead``, ``Sale`` or ``LedgerEntry``) dated by its column ``moment``; with
    ``of_lead`` the key reads the lead, so sales and entries are joined to theirs."""

    key: Callable[[Any, Any], ColumnElement[Any]]
    of_lead: bool = False


def column_key(name: str) -> Grouping:
    """Group by a column every table that counts has (``supplier_id``…); ``buyer_id`` and
    ``order_id`` only sales and entries have."""
    return Grouping(lambda table, _moment: getattr(table, name))


def field_key(name: str) -> Grouping:
    """Group by a field of the lead as the seller sent it (a ping's own fields for pings);
    ``""`` when it sent none."""

    def key(table: Any, _moment: Any) -> ColumnElement[Any]:
        fields = Ping.fields if table is Ping else Lead.fields
        return func.coalesce(fields[name].as_string(), "")

    return Grouping(key, of_lead=True)


async def gather(
    session: AsyncSession,
    start: dt.datetime,
    end: dt.datetime,
    test: bool,
    grouping: Grouping | None,
    *,
    inbound: bool = True,
) -> dict[Any, dict[str, Any]]:
    """The figures (the names of :data:`ZERO`) by group key (``""`` for the one group of no
    ``grouping``), over ``[start, end)``, of test traffic or live traffic only.

    With ``inbound`` false (buyers, orders) pings and posts are not counted, and ``leads``
    counts the distinct leads with a sale row of any status.
    """
    found: dict[Any, dict[str, Any]] = {}
    # SQLite compares the text of naive UTC: a bound in another zone would be read as UTC
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    async def add(
        table: Any,
        moment: Any,
        columns: Mapping[str, ColumnElement[Any]],
        *only: ColumnElement[bool],
    ) -> None:
        key = None if grouping is None else grouping.key(table, moment).label(_KEY)
        query = select(*([] if key is None else [key]), *columns.values())
        if grouping is not None and grouping.of_lead and table not in (Ping, Lead):
            query = query.select_from(table).join(Lead, Lead.id == table.lead_id)
        query = query.where(moment >= start, moment < end, table.test == test, *only)
        if key is not None:
            query = query.group_by(literal_column(_KEY))
        for row in await session.execute(query):
            group, values = ("", row) if key is None else (row[0], row[1:])
            figures = found.setdefault(group, dict(ZERO))
            for name, value in zip(columns, values, strict=True):
                figures[name] = _money(value) if name in MONEY else int(value)

    if inbound:
        accepted = func.count(case((Ping.status == "accepted", 1)))
        await add(Ping, Ping.created_at, {"pings": func.count(), "accepted_pings": accepted})
        await add(Lead, Lead.created_at, {"leads": func.count(), "posts": func.count(Lead.ping_id)})
    else:
        await add(Sale, Sale.created_at, {"leads": func.count(func.distinct(Sale.lead_id))})
    sold = {"sold": func.count(func.distinct(Sale.lead_id)), "sales": func.count()}
    await add(Sale, Sale.created_at, sold, Sale.status == "sold")
    await add(Sale, Sale.returned_at, {"returned": func.count()}, Sale.returned_at.is_not(None))
    await add(LedgerEntry, LedgerEntry.at, _ledger_money(), LedgerEntry.sale_id.is_not(None))
    return found


def _ledger_money() -> dict[str, ColumnElement[Any]]:
    """The sums of :data:`MONEY` over a sale's entries, each positive in the usual case."""
    buyer = LedgerEntry.account.startswith("buyer:")
    supplier = LedgerEntry.account.startswith("supplier:")
    kind = LedgerEntry.kind
    charged = buyer & kind.in_([EntryKind.SALE.value, EntryKind.ADJUSTMENT.value])
    earned = supplier & kind.in_([EntryKind.PAYOUT.value, EntryKind.ADJUSTMENT.value])

    def total(when: ColumnElement[bool], sign: int = 1) -> ColumnElement[Any]:
        amount = LedgerEntry.amount_cents if sign > 0 else -LedgerEntry.amount_cents
        return func.coalesce(func.sum(case((when, amount), else_=0)), 0)

    return {
        "gross_revenue": total(charged, -1),
        "returns": total(buyer & (kind == EntryKind.RETURN.value)),
        "gross_cost": total(earned),
        "chargebacks": total(supplier & (kind == EntryKind.CHARGEBACK.value), -1),
    }


def _money(cents: Any) -> Decimal:
    # PostgreSQL sums BIGINT as NUMERIC (a Decimal), SQLite as an int: cents either way
    return from_cents(int(cents))


def bucket_key(
    column: Any, dialect: str, bucket: Bucket, first: dt.datetime, spans: list[OffsetSpan]
) -> ColumnElement[Any]:
    """A row's bucket: its local day number (:func:`~pingtree.domain.report_days.day_number`),
    or its hour's index from ``first``.

    Constants are literal SQL, not parameters: PostgreSQL matches a GROUP BY expression to
    the selected one by its text, and two parameters never read alike. They are integers we
    computed."""
    epoch = _epoch(column, dialect)
    if bucket == "hour":
        return (epoch - _number(int(first.timestamp()))) // _number(SECONDS["hour"])
    offset: ColumnElement[Any] = _number(int(spans[-1].offset.total_seconds()))
    if len(spans) > 1:
        offset = case(
            *[
                (epoch < _number(int(after.since.timestamp())), _seconds(span.offset))
                for span, after in itertools.pairwise(spans)
                if after.since is not None
            ],
            else_=_seconds(spans[-1].offset),
        )
    return (epoch + offset) // _number(SECONDS["day"])


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    """Whole seconds since 1970 (UTC) of a timestamp column. SQLite stores UTC as naive
    text; PostgreSQL stores ``timestamptz``."""
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", column)), BigInteger)
    return cast(func.strftime(literal_column("'%s'"), column), BigInteger)


def _seconds(offset: dt.timedelta) -> ColumnElement[Any]:
    return _number(int(offset.total_seconds()))


def _number(value: int) -> ColumnElement[Any]:
    return literal_column(str(int(value)), Integer)
