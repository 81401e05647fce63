"""Buyers' dispositions of the leads they bought (DESIGN §9): the rows, and the figures by
any of supplier, campaign, ``sub_id``, buyer, order and vertical.

A sale's **current** disposition is its latest report (by ``reported_at``, then id); what
its code means (contacted? converted?) is its vertical's (``domain.dispositions``), given
by the caller as ``codes`` so that the configuration, not the stored row, decides.

:func:`disposition_rates` counts, over the sales made in ``[start, end)`` (status ``sold``,
returned later or not; test traffic apart), per group: ``sold`` sales, ``disposed`` (those
with a disposition), ``contacted`` and ``converted`` (by their current code), the count of
each current code, and ``value``: the sum of the current dispositions' values. A lead sold
to two buyers is two sales, each with its own buyer's report. The scorecards (per buyer,
per supplier) and the dispositions report read this one function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

import uuid_utils
from sqlalchemy import func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from pingtree.domain.dispositions import DEFAULT_DISPOSITIONS, DispositionCode
from pingtree.domain.money import from_cents
from pingtree.store.tables import Disposition, Lead, Sale

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "DispositionRepository",
    "DispositionRow",
    "disposition_rates",
]

Dimension = Literal["supplier", "campaign", "sub_id", "buyer", "order", "vertical"]
#: what :func:`disposition_rates` may group by
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)


class DispositionRepository:
    """Dispositions in ``session``; never commits (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        sale: Sale,
        code: str,
        value_cents: int | None,
        note: str,
        reported_by: str,
        now: dt.datetime,
    ) -> Disposition:
        """Record a report of ``sale``'s lead: a new row (earlier reports are kept)."""
        row = Disposition(
            id=str(uuid_utils.uuid7()),
            lead_id=sale.lead_id,
            sale_id=sale.id,
            buyer_id=sale.buyer_id,
            order_id=sale.order_id,
            campaign_id=sale.campaign_id,
            supplier_id=sale.supplier_id,
            vertical_id=sale.vertical_id,
            test=sale.test,
            code=code,
            value_cents=value_cents,
            note=note,
            reported_by=reported_by,
            reported_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def for_lead(self, lead_id: str, buyer_id: str | None = None) -> Sequence[Disposition]:
        """The lead's reports, newest first (the first is the current one of its buyer);
        only ``buyer_id``'s when given."""
        query = (
            select(Disposition)
            .where(Disposition.lead_id == lead_id)
            .order_by(Disposition.reported_at.desc(), Disposition.id.desc())
        )
        if buyer_id is not None:
            query = query.where(Disposition.buyer_id == buyer_id)
        return (await self._session.scalars(query)).all()

    async def forget_notes(self, lead_ids: Iterable[str]) -> int:
        """Blank the notes of these leads' reports (a buyer may have written the consumer's
        name in one): for an erasure. How many rows changed."""
        wanted = sorted(set(lead_ids))
        if not wanted:
            return 0
        done = await self._session.execute(
            update(Disposition)
            .where(Disposition.lead_id.in_(wanted), Disposition.note != "")
            .values(note="")
        )
        return int(getattr(done, "rowcount", 0) or 0)


@dataclass
class DispositionRow:
    """One group's figures: ``key`` holds its value of each dimension asked for."""

    key: dict[str, str]
    sold: int = 0
    disposed: int = 0
    contacted: int = 0
    converted: int = 0
    value: Decimal = Decimal("0.00")
    #: current code → how many sales have it
    codes: dict[str, int] = field(default_factory=dict)

    @property
    def disposition_rate(self) -> float | None:
        """Sales with a disposition ÷ sales: how much the buyers report."""
        return self.disposed / self.sold if self.sold else None

    @property
    def contact_rate(self) -> float | None:
        """Contacted ÷ sales with a disposition."""
        return self.contacted / self.disposed if self.disposed else None

    @property
    def conversion_rate(self) -> float | None:
        """Converted ÷ sales with a disposition."""
        return self.converted / self.disposed if self.disposed else None

    @property
    def value_per_sold(self) -> Decimal | None:
        """The downstream value per sold lead, to the cent (rounded half even)."""
        if not self.sold:
            return None
        return (self.value / self.sold).quantize(Decimal("0.01"))


async def disposition_rates(
    session: AsyncSession,
    start: dt.datetime,
    end: dt.datetime,
    *,
    by: Sequence[Dimension],
    codes: Mapping[str, Sequence[DispositionCode]],
    campaign_ids: Iterable[str] | None = None,
    buyer_id: str | None = None,
    test: bool = False,
) -> list[DispositionRow]:
    """The figures of the sales made in ``[start, end)``, grouped ``by`` the dimensions
    (none: one row of everything), sorted by their keys. ``codes``: each vertical's codes
    (a vertical not in it has the default ones; a code no longer listed counts as neither
    contacted nor converted). ``campaign_ids``: only these campaigns' sales (a supplier's
    scope); ``buyer_id``: only that buyer's. ``ValueError`` for an unknown dimension."""
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; allowed: {', '.join(DIMENSIONS)}")
    latest = _latest_dispositions(start.astimezone(dt.UTC), test)
    columns = [_dimension(name).label(f"dispo_{name}") for name in by]
    groups = [*columns, Sale.vertical_id.label("dispo_vertical_id"), latest.c.code]
    query = (
        select(*groups, func.count(), func.coalesce(func.sum(latest.c.value_cents), 0))
        .select_from(Sale)
        .join(Lead, Lead.id == Sale.lead_id)
        .outerjoin(latest, (latest.c.sale_id == Sale.id) & (latest.c.rank == 1))
        .where(
            Sale.created_at >= start.astimezone(dt.UTC),
            Sale.created_at < end.astimezone(dt.UTC),
            Sale.status == "sold",
            Sale.test == test,
        )
    )
    if campaign_ids is not None:
        query = query.where(Sale.campaign_id.in_(sorted(set(campaign_ids))))
    if buyer_id is not None:
        query = query.where(Sale.buyer_id == buyer_id)
    # by the output columns' names: PostgreSQL would not match a JSON path's parameter
    names = [f"dispo_{name}" for name in by] + ["dispo_vertical_id", "code"]
    query = query.group_by(*(literal_column(name) for name in names))
    rows: dict[tuple[str, ...], DispositionRow] = {}
    meanings = {vertical: {c.code: c for c in listed} for vertical, listed in codes.items()}
    default = {c.code: c for c in DEFAULT_DISPOSITIONS}
    for found in await session.execute(query):
        key = tuple("" if value is None else str(value) for value in found[: len(by)])
        vertical_id, code, count, cents = found[len(by) :]
        row = rows.setdefault(key, DispositionRow(dict(zip(by, key, strict=True))))
        count = int(count)
        row.sold += count
        if code is None:
            continue
        meaning = meanings.get(str(vertical_id), default).get(str(code))
        row.disposed += count
        row.contacted += count if meaning is not None and meaning.contacted else 0
        row.converted += count if meaning is not None and meaning.converted else 0
        row.codes[str(code)] = row.codes.get(str(code), 0) + count
        row.value += from_cents(int(cents))
    return [rows[key] for key in sorted(rows)]


def _latest_dispositions(start: dt.datetime, test: bool) -> Any:
    """Each report ranked within its sale, newest first: ``rank`` 1 is the current one.
    Only reports from ``start`` on: none is older than its sale."""
    rank = func.row_number().over(
        partition_by=Disposition.sale_id,
        order_by=(Disposition.reported_at.desc(), Disposition.id.desc()),
    )
    return (
        select(Disposition.sale_id, Disposition.code, Disposition.value_cents, rank.label("rank"))
        .where(Disposition.reported_at >= start, Disposition.test == test)
        .subquery("latest_dispositions")
    )


def _dimension(name: Dimension) -> ColumnElement[Any]:
    if name == "sub_id":  # a tracking field of the lead's fields
        return func.coalesce(Lead.fields["sub_id"].as_string(), "")
    columns: dict[str, Any] = {
        "supplier": Sale.supplier_id,
        "campaign": Sale.campaign_id,
        "buyer": Sale.buyer_id,
        "order": Sale.order_id,
        "vertical": Sale.vertical_id,
    }
    column: ColumnElement[Any] = columns[name]
    return column
