"""A supplier's figures, for its portal (DESIGN §8.5): by local day, campaign and the
seller's ``sub_id``, over the campaigns of its scope. Only what concerns the supplier:
pings and those accepted, leads and posts, sold leads and returned ones, the payout it
earned and what was charged back for returns (its account's entries in the ledger) — never
revenue, a price, a buyer or a margin; and its pings' and leads' rejection reasons, counted
per reason.

A range is ``[start, end)``; days are ``zone``'s, as the reports'. As in the reports
(:mod:`pingtree.store.report_queries`), a sale counts on the day it was sold, a return and
its chargeback on the day it was approved; test traffic apart (``test``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, case, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from pingtree.domain.money import from_cents
from pingtree.domain.report_days import UTC_ZONE, bucket_starts, day_number, offset_spans
from pingtree.store.ledger import EntryKind
from pingtree.store.report_queries import bucket_key
from pingtree.store.tables import Lead, LedgerEntry, Ping, Sale

__all__ = ["SupplierFigures", "SupplierRow", "supplier_figures"]

#: the groups' output names: none is a table's column, so neither engine reads one as such
_KEYS = ("figures_day", "figures_campaign", "figures_sub_id")


@dataclass
class SupplierRow:
    """One day, campaign and ``sub_id`` (``""`` when the seller sent none)."""

    day: dt.date
    campaign_id: str
    sub_id: str
    pings: int = 0
    accepted_pings: int = 0
    leads: int = 0
    posts: int = 0
    sold: int = 0
    #: sales whose return was approved that day
    returned: int = 0
    #: what it earned for the sales (payouts and their adjustments), and what was charged
    #: back for returns
    payout: Decimal = Decimal("0.00")
    chargebacks: Decimal = Decimal("0.00")

    @property
    def net_payout(self) -> Decimal:
        return self.payout - self.chargebacks

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted_pings / self.pings if self.pings else None


@dataclass
class SupplierFigures:
    rows: list[SupplierRow] = field(default_factory=list)
    #: reason → how many of its pings and leads were rejected for it, most first
    reasons: list[tuple[str, int]] = field(default_factory=list)


async def supplier_figures(
    session: AsyncSession,
    campaign_ids: Iterable[str] | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    test: bool = False,
    zone: ZoneInfo = UTC_ZONE,
) -> SupplierFigures:
    """The figures of the campaigns ``campaign_ids`` (``None``: every one), newest day first,
    then by campaign and ``sub_id``."""
    days = {
        day_number(moment.date()): moment.date()
        for moment in bucket_starts(start, end, "day", zone)
    }
    if not days:
        return SupplierFigures()
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    dialect = session.get_bind().dialect.name
    spans = offset_spans(start, end, zone)
    first = min(days.values())
    rows: dict[tuple[Any, ...], SupplierRow] = {}
    wanted = None if campaign_ids is None else sorted(set(campaign_ids))

    local_first = dt.datetime.combine(first, dt.time(), zone)

    async def add(
        table: Any,
        columns: Mapping[str, ColumnElement[Any]],
        *only: ColumnElement[bool],
        moment: Any = None,
    ) -> None:
        moment = table.created_at if moment is None else moment
        sub_of = Ping.fields if table is Ping else Lead.fields
        keys = [
            bucket_key(moment, dialect, "day", local_first, spans).label(_KEYS[0]),
            table.campaign_id.label(_KEYS[1]),
            func.coalesce(sub_of["sub_id"].as_string(), "").label(_KEYS[2]),
        ]
        query = select(*keys, *columns.values())
        if table not in (Ping, Lead):  # a sale's or an entry's sub_id is its lead's
            query = query.select_from(table).join(Lead, Lead.id == table.lead_id)
        query = query.where(moment >= start, moment < end, table.test == test, *only)
        if wanted is not None:
            query = query.where(table.campaign_id.in_(wanted))
        # by the output columns' names: PostgreSQL would not match a JSON path's parameter
        query = query.group_by(*(literal_column(name) for name in _KEYS))
        for found in await session.execute(query):
            day = days.get(int(found[0]))
            if day is None:
                continue
            key = (day, str(found[1]), str(found[2]))
            row = rows.setdefault(key, SupplierRow(*key))
            for name, value in zip(columns, found[3:], strict=True):
                money = name in ("payout", "chargebacks")
                setattr(row, name, from_cents(int(value)) if money else int(value))

    accepted = func.count(case((Ping.status == "accepted", 1)))
    await add(Ping, {"pings": func.count(), "accepted_pings": accepted})
    await add(Lead, {"leads": func.count(), "posts": func.count(Lead.ping_id)})
    await add(Sale, {"sold": func.count(func.distinct(Sale.lead_id))}, Sale.status == "sold")
    await add(
        Sale, {"returned": func.count()}, Sale.returned_at.is_not(None), moment=Sale.returned_at
    )
    kind, amount = LedgerEntry.kind, LedgerEntry.amount_cents
    earned = kind.in_([EntryKind.PAYOUT.value, EntryKind.ADJUSTMENT.value])
    charged_back = kind == EntryKind.CHARGEBACK.value
    money = {
        "payout": func.coalesce(func.sum(case((earned, amount), else_=0)), 0),
        "chargebacks": func.coalesce(func.sum(case((charged_back, -amount), else_=0)), 0),
    }
    await add(
        LedgerEntry,
        money,
        LedgerEntry.sale_id.is_not(None),
        LedgerEntry.account.startswith("supplier:"),
        moment=LedgerEntry.at,
    )
    reasons: dict[str, int] = {}
    for table in (Ping, Lead):
        query = select(cast(table.reasons, Text), func.count()).where(
            table.created_at >= start,
            table.created_at < end,
            table.test == test,
            table.status == "rejected",
        )
        if wanted is not None:
            query = query.where(table.campaign_id.in_(wanted))
        for text, count in await session.execute(query.group_by(cast(table.reasons, Text))):
            for reason in _reason_names(text):
                reasons[reason] = reasons.get(reason, 0) + int(count)
    ordered = sorted(rows.values(), key=lambda r: (-r.day.toordinal(), r.campaign_id, r.sub_id))
    counted = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return SupplierFigures(ordered, counted)


def _reason_names(text: str | None) -> list[str]:
    """The distinct reasons of a stored ``reasons`` list (strings, or objects with a
    ``code``/``reason``)."""
    if not text:
        return []
    found = json.loads(text)
    names: list[str] = []
    for item in found if isinstance(found, list) else []:
        name = item if isinstance(item, str) else None
        if isinstance(item, dict):
            name = item.get("code") or item.get("reason") or item.get("message")
        if name and str(name) not in names:
            names.append(str(name))
    return names
