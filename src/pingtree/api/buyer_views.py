"""The buyer portal's views: what a ``buyer`` user sees of its own buyer (DESIGN §8.5).

- its orders, their status, schedule (in words) and each cap's use against its limit in the
  window now; pausing and resuming goes through ``api.config_views.switch``, which lets a
  buyer's user toggle its own orders and nothing else;
- the leads it bought: only those with a sale to this buyer that stands (``sold``, not
  rejected or returned), searchable by date and by email or phone (the HMAC search of
  ``api.lead_search``), each with its personal data: the buyer paid for it;
- a CSV export of those leads, streamed.

Showing a bought lead's PII to its buyer is audited like a staff reveal: one ``pii_reveals``
row per lead opened and one per lead exported, under the user's ``audit_name``. The list
shows no PII and records nothing. Nothing here names another buyer, its prices, or what the
supplier was paid.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingtree.api.lead_search import person_keys
from pingtree.domain.money import format_money, from_cents
from pingtree.domain.orders import Cap, CapKind, Order, Schedule
from pingtree.domain.verticals import Vertical
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store.erasure import ERASED
from pingtree.store.lead_fields import open_fields
from pingtree.store.reports import CapUse, cap_usage
from pingtree.store.tables import Lead, Sale
from pingtree.store.traffic import LeadRepository, SaleRepository
from pingtree.store.traffic_logs import PiiRevealRepository

__all__ = [
    "STANDING",
    "BoughtLead",
    "OrderView",
    "bought_lead",
    "bought_leads",
    "export_csv",
    "order_views",
    "require_buyer",
    "schedule_text",
]

#: the sale status of a sale that stands (not rejected by the buyer, not returned)
STANDING = "sold"
#: the most leads one page of the list shows, and one read of the export
PAGE = 200
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class OrderView:
    """One of the buyer's orders as its portal shows it."""

    id: str
    name: str
    vertical_id: str
    status: str
    price: str
    schedule: str
    caps: list[CapUse]


@dataclass(frozen=True, slots=True)
class BoughtLead:
    """A lead the buyer bought: the lead, its standing sales to this buyer, its fields."""

    id: str
    vertical_id: str
    created_at: dt.datetime
    test: bool
    sales: list[dict[str, Any]]
    fields: dict[str, Any]


def require_buyer(principal: Principal) -> str:
    """The principal's buyer id; :class:`Forbidden` unless it is a buyer's user."""
    if principal.role != "buyer" or not principal.buyer_id:
        raise Forbidden(f"The {principal.role} role has no buyer portal.")
    return principal.buyer_id


async def order_views(ports: Ports, principal: Principal) -> list[OrderView]:
    """The buyer's orders in id order, each with its caps' use now."""
    buyer_id = require_buyer(principal)
    config = ports.snapshots.current().config
    buyer = config.buyers.get(buyer_id)
    if buyer is None:
        return []
    now = ports.clock.now()
    orders = sorted((o for o in config.orders.values() if o.buyer_id == buyer_id), key=_id)
    return [
        OrderView(
            id=order.id,
            name=order.name,
            vertical_id=order.vertical_id,
            status=str(order.status),
            price=_price(order),
            schedule=schedule_text(order.schedule),
            caps=await cap_usage(ports.caps, order, buyer, now),
        )
        for order in orders
    ]


def _id(order: Order) -> str:
    return order.id


def _price(order: Order) -> str:
    pricing = order.pricing
    if pricing.kind.value == "bid":
        return "bid"
    parts = []
    if pricing.exclusive is not None:
        parts.append(f"{format_money(pricing.exclusive)} exclusive")
    if pricing.shared is not None:
        parts.append(f"{format_money(pricing.shared)} shared")
    return ", ".join(parts) or "–"


def schedule_text(schedule: Schedule | None) -> str:
    """A schedule in words: ``Mon–Fri 09:00–17:00 (America/New_York)``; around the clock
    when there is none."""
    if schedule is None or not schedule.intervals:
        return "around the clock"
    hours: dict[tuple[int, int], list[int]] = {}
    for interval in schedule.intervals:
        hours.setdefault((interval.start, interval.end), []).append(interval.weekday)
    parts = [
        f"{_days(sorted(days))} {_clock(start)}–{_clock(end)}"
        for (start, end), days in sorted(hours.items(), key=lambda item: min(item[1]))
    ]
    text = "; ".join(parts) + f" ({schedule.timezone})"
    if schedule.closed_dates:
        closed = ", ".join(d.isoformat() for d in sorted(schedule.closed_dates))
        text += f"; closed {closed}"
    return text


def _days(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        _DAYS[run[0]] if len(run) == 1 else f"{_DAYS[run[0]]}–{_DAYS[run[-1]]}" for run in runs
    )


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def cap_text(cap: Cap, value: int | Decimal) -> str:
    """A cap's limit or use: a count, or money for a spend cap."""
    if cap.kind is CapKind.SPEND:
        return format_money(Decimal(value))
    return str(value)


async def bought_leads(
    ports: Ports,
    principal: Principal,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    email: str | None = None,
    phone: str | None = None,
    persons: Sequence[str] = (),
    before: str | None = None,
    limit: int = PAGE,
) -> list[dict[str, Any]]:
    """The leads this buyer bought and still owns, newest first, without PII: id, date,
    vertical, and its own sales (order, leg, price). ``email``/``phone`` are found by HMAC,
    as are ``persons`` (the HMAC indexes the UI's links carry in their place)."""
    buyer_id = require_buyer(principal)
    keys = [*persons, *person_keys(ports.vault, email=email, phone=phone)]
    leads = await _standing(ports, buyer_id, since, until, keys, before, limit)
    return [
        {
            "id": lead.id,
            "vertical_id": lead.vertical_id,
            "created_at": lead.created_at,
            "test": lead.test,
            "sales": [_sale(s) for s in sales],
        }
        for lead, sales in leads
    ]


async def bought_lead(ports: Ports, principal: Principal, lead_id: str) -> BoughtLead:
    """One bought lead with its personal data, the view audited; a lead this buyer does not
    own (never bought, or its sale rejected or returned) is :class:`NotFound`."""
    buyer_id = require_buyer(principal)
    async with ports.sessions() as session:
        lead = await LeadRepository(session).get(lead_id)
        sales = await SaleRepository(session).for_lead(lead_id) if lead else []
    own = _own_sales(sales, buyer_id)
    if lead is None or not own:
        raise NotFound("no such lead")
    async with ports.sessions.begin() as session:
        await PiiRevealRepository(session).record(lead.id, principal.audit_name, ports.clock.now())
    return BoughtLead(
        id=lead.id,
        vertical_id=lead.vertical_id,
        created_at=lead.created_at,
        test=lead.test,
        sales=[_sale(s) for s in own],
        fields=_fields(ports, lead),
    )


async def export_csv(
    ports: Ports,
    principal: Principal,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    email: str | None = None,
    phone: str | None = None,
    persons: Sequence[str] = (),
) -> AsyncIterator[str]:
    """The bought leads as CSV, newest first, one page at a time: ``lead_id``,
    ``created_at``, ``vertical_id``, ``order_id``, ``leg``, ``price`` (text), then the
    fields of the leads' verticals with their PII. Each exported lead is recorded in
    ``pii_reveals``. The arguments are checked before the first line is sent."""
    buyer_id = require_buyer(principal)
    keys = [*persons, *person_keys(ports.vault, email=email, phone=phone)]
    config = ports.snapshots.current().config
    names = _field_names(v for v in config.verticals.values())
    columns = ["lead_id", "created_at", "vertical_id", "order_id", "leg", "price", *names]

    async def lines() -> AsyncIterator[str]:
        yield _csv_line(columns)
        before: str | None = None
        while True:
            page = await _standing(ports, buyer_id, since, until, keys, before, PAGE)
            if not page:
                return
            async with ports.sessions.begin() as session:
                audit = PiiRevealRepository(session)
                for lead, _ in page:
                    await audit.record(lead.id, principal.audit_name, ports.clock.now())
            for lead, sales in page:
                fields = _fields(ports, lead)
                for sale in sales:
                    head = [lead.id, lead.created_at.astimezone(dt.UTC).isoformat()]
                    head += [lead.vertical_id, sale.order_id, sale.leg, _money(sale.revenue_cents)]
                    yield _csv_line(head + [_cell(fields.get(n)) for n in names])
            before = page[-1][0].id

    return lines()


def _field_names(verticals: Any) -> list[str]:
    names: list[str] = []
    for vertical in verticals:
        names += [spec.name for spec in vertical.fields if spec.name not in names]
    return names


def _csv_line(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def _cell(value: object) -> str:
    return "" if value is None else str(value)


async def _standing(
    ports: Ports,
    buyer_id: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    persons: Sequence[str],
    before: str | None,
    limit: int,
) -> list[tuple[Lead, list[Sale]]]:
    """Up to ``limit`` leads with a standing sale to ``buyer_id``, newest first, each with
    those sales; leads whose sales to it all fell through are skipped."""
    found: list[tuple[Lead, list[Sale]]] = []
    async with ports.sessions() as session:
        leads, sales = LeadRepository(session), SaleRepository(session)
        while len(found) < limit:
            rows = await leads.recent(
                limit,
                buyer_id=buyer_id,
                since=_utc(since),
                until=_utc(until),
                persons=persons,
                before=before,
            )
            for lead in rows:
                own = _own_sales(await sales.for_lead(lead.id), buyer_id)
                if own and len(found) < limit:
                    found.append((lead, own))
            if len(rows) < limit:
                break
            before = rows[-1].id
    return found


def _own_sales(sales: Sequence[Sale], buyer_id: str) -> list[Sale]:
    return [s for s in sales if s.buyer_id == buyer_id and s.status == STANDING]


def _fields(ports: Ports, lead: Lead) -> dict[str, Any]:
    vertical: Vertical | None = ports.snapshots.current().config.verticals.get(lead.vertical_id)
    if vertical is None:
        return dict(lead.fields)
    fields = open_fields(vertical, lead.fields, ports.vault, reveal=lead.erased_at is None)
    if lead.erased_at is not None:
        fields.update({spec.name: ERASED for spec in vertical.fields if spec.pii})
    return fields


def _sale(sale: Sale) -> dict[str, Any]:
    return {
        "order_id": sale.order_id,
        "leg": sale.leg,
        "price": _money(sale.revenue_cents),
        "created_at": sale.created_at,
    }


def _money(cents: int) -> str:
    return format_money(from_cents(cents))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
