"""Dispositions, as plain dicts: the buyer API, the admin API and the pages all call these
(DESIGN §9: what a buyer reports became of a lead it bought).

Who may do what, by the principal:

- a ``buyer`` (its user in the portal, or its key on ``/api/v1/buyer``) reports and reads
  the dispositions of a lead it bought and still owns (its sale ``sold``); any other lead is
  :class:`~pingtree.flows.errors.NotFound`, as if it did not exist;
- staff read every lead's (an analyst, who sees no personal data, without their notes);
  those who may operate report for a buyer too (naming it when the lead was sold to several);
- a ``supplier`` reads on its own campaigns' leads the codes only: never the buyer, the
  value or the note;
- the report (:func:`disposition_report`) is the staff's over everything, and a supplier's
  over its own campaigns by supplier, campaign, ``sub_id`` or vertical (never by buyer).

Bad input is :class:`~pingtree.flows.errors.InputError` (a 422 naming each field): an
unknown code (the message lists the vertical's codes), a value that is no amount of money,
a note too long.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pingtree.api.report_views import rate
from pingtree.api.scoping import open_section, scope_for
from pingtree.domain.dispositions import (
    DEFAULT_DISPOSITIONS,
    MAX_NOTE,
    DispositionCode,
    DispositionError,
    code_of,
    value_cents,
)
from pingtree.domain.fields import FieldError
from pingtree.domain.money import format_money, from_cents
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store.dispositions import (
    DIMENSIONS,
    Dimension,
    DispositionRepository,
    DispositionRow,
    disposition_rates,
)
from pingtree.store.tables import Disposition, Sale
from pingtree.store.traffic import LeadRepository, SaleRepository

__all__ = [
    "MAX_REPORT_DAYS",
    "SUPPLIER_DIMENSIONS",
    "disposition_codes",
    "disposition_report",
    "lead_dispositions",
    "may_report",
    "report_disposition",
    "report_range",
    "shown_dispositions",
]

#: the dimensions a supplier's report may group by (never a buyer or an order)
SUPPLIER_DIMENSIONS: tuple[Dimension, ...] = ("supplier", "campaign", "sub_id", "vertical")
#: the longest range the report covers
MAX_REPORT_DAYS = 366
_STANDING = "sold"


def may_report(principal: Principal) -> bool:
    """Whether ``principal`` may report a disposition (a buyer of its own leads; staff who
    operate, of any buyer's)."""
    return _buyer_of(principal) is not None or principal.may_operate


def disposition_codes(ports: Ports, vertical_id: str) -> tuple[DispositionCode, ...]:
    """The codes a buyer may report of a lead of ``vertical_id`` (the default ones for a
    vertical no longer configured)."""
    vertical = ports.snapshots.current().config.verticals.get(vertical_id)
    return vertical.dispositions if vertical is not None else DEFAULT_DISPOSITIONS


async def report_disposition(
    ports: Ports,
    principal: Principal,
    lead_id: str,
    *,
    code: str,
    value: object = None,
    note: str = "",
    buyer_id: str | None = None,
) -> dict[str, Any]:
    """Record what became of a bought lead: ``code`` of its vertical's list, an optional
    ``value`` (money: ``"1250.00"``), a ``note``. ``buyer_id`` names the buyer when staff
    report for a lead sold to several. The new disposition, as :func:`lead_dispositions`
    shows it to ``principal``."""
    own = _buyer_of(principal)
    if own is None and not principal.may_operate:
        raise Forbidden(f"The {principal.role} role may not report dispositions.")
    async with ports.sessions() as session:
        sales = [
            s for s in await SaleRepository(session).for_lead(lead_id) if s.status == _STANDING
        ]
    if own is not None:
        sales = [s for s in sales if s.buyer_id == own]
    if not sales:
        raise NotFound("no such lead")
    sale = _one_sale(sales, buyer_id)
    codes = disposition_codes(ports, sale.vertical_id)
    errors: list[FieldError] = []
    cents: int | None = None
    try:
        chosen = code_of(codes, code).code
    except DispositionError as error:
        errors.append(FieldError(("body", "code"), error.msg, "enum", code))
    try:
        cents = value_cents(value)
    except DispositionError as error:
        errors.append(FieldError(("body", "value"), error.msg, "money", value))
    note = note.strip()
    if len(note) > MAX_NOTE:
        errors.append(
            FieldError(("body", "note"), f"at most {MAX_NOTE} characters", "too_long", None)
        )
    if "\x00" in note:  # PostgreSQL text cannot hold one
        message = "must not contain NUL characters"
        errors.append(FieldError(("body", "note"), message, "invalid_characters", None))
    if errors:
        raise InputError(errors)
    async with ports.sessions.begin() as session:
        row = await DispositionRepository(session).add(
            sale, chosen, cents, note, principal.audit_name, ports.clock.now()
        )
        shown = _full(row, codes, staff=principal.is_staff)
    return shown


async def lead_dispositions(
    ports: Ports, principal: Principal, lead_id: str
) -> list[dict[str, Any]]:
    """The lead's dispositions, newest first (the first is its buyer's current one), as far
    as ``principal`` may see: a buyer its own (of a lead it owns, else :class:`NotFound`),
    staff every buyer's, a supplier the codes only on its own campaigns' leads."""
    own = _buyer_of(principal)
    async with ports.sessions() as session:
        lead = await LeadRepository(session).get(lead_id)
        sales = await SaleRepository(session).for_lead(lead_id) if lead else []
        rows = await DispositionRepository(session).for_lead(lead_id, own) if lead else []
    if lead is None:
        raise NotFound("no such lead")
    codes = disposition_codes(ports, lead.vertical_id)
    if own is not None:
        if not any(s.buyer_id == own and s.status == _STANDING for s in sales):
            raise NotFound("no such lead")
        return [_full(row, codes, staff=False) for row in rows]
    if principal.is_staff:
        shown = [_full(row, codes, staff=True) for row in rows]
        if not principal.may_reveal_pii:  # a buyer may have named the consumer in a note
            shown = [{**row, "note": None} for row in shown]
        return shown
    if principal.role == "supplier" and principal.supplier_id:
        if not scope_for(ports, principal).has_campaign(lead.campaign_id):
            raise NotFound("no such lead")
        return [_code_only(row, codes) for row in rows]
    raise Forbidden(f"The {principal.role} role may not see dispositions.")


async def shown_dispositions(
    ports: Ports, principal: Principal, lead_id: str
) -> list[dict[str, Any]]:
    """As :func:`lead_dispositions`, but empty where ``principal`` may see none (a page
    about the lead shows its dispositions when it may, and stays the page it was)."""
    try:
        return await lead_dispositions(ports, principal, lead_id)
    except (NotFound, Forbidden):
        return []


def report_range(
    now: dt.datetime, since: dt.date | None, until: dt.date | None
) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of the UTC days ``since`` to ``until`` (both included; default the
    last 30 days to today). ``ValueError`` for a reversed or too long range."""
    today = now.astimezone(dt.UTC).date()
    last = until or today
    try:
        first = since or last - dt.timedelta(days=29)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    except OverflowError:  # the calendar's first or last days
        raise ValueError("a date out of range") from None
    if first > last:
        raise ValueError("since must not be after until")
    if (last - first).days >= MAX_REPORT_DAYS:
        raise ValueError(f"at most {MAX_REPORT_DAYS} days")
    return dt.datetime.combine(first, dt.time(), dt.UTC), end


async def disposition_report(
    ports: Ports,
    principal: Principal,
    start: dt.datetime,
    end: dt.datetime,
    *,
    by: Sequence[str] = ("supplier", "campaign", "sub_id"),
    test: bool = False,
) -> dict[str, Any]:
    """The sales made in ``[start, end)`` by the dimensions ``by``, each row with ``sold``,
    ``disposed`` (with a disposition), ``contacted``, ``converted``, their rates (contact
    and conversion over the sales with a disposition), ``value`` (the current dispositions'
    values) and ``value_per_sold``; and ``total``, all rows at once. Staff see everything;
    a supplier its own campaigns, by :data:`SUPPLIER_DIMENSIONS` only. ``ValueError`` for a
    dimension the principal may not group by."""
    open_section(principal, "dispositions")  # staff, or a supplier (its user or key)
    allowed = DIMENSIONS if principal.is_staff else SUPPLIER_DIMENSIONS
    wanted = [name for name in by if name in allowed]
    if len(wanted) != len(by) or len(set(by)) != len(by):
        raise ValueError(f"by: each at most once, of {', '.join(allowed)}")
    scope = scope_for(ports, principal)
    config = ports.snapshots.current().config
    codes = {v.id: v.dispositions for v in config.verticals.values()}
    campaigns = None if scope.campaign_ids is None else sorted(scope.campaign_ids)
    async with ports.sessions() as session:
        rows = await disposition_rates(
            session, start, end, by=wanted, codes=codes, campaign_ids=campaigns, test=test
        )
        total = await disposition_rates(
            session, start, end, by=(), codes=codes, campaign_ids=campaigns, test=test
        )
    return {
        "start": start,
        "end": end,
        "by": wanted,
        "test": test,
        "rows": [_figures(row) for row in rows],
        "total": _figures(total[0] if total else DispositionRow({})),
    }


def _buyer_of(principal: Principal) -> str | None:
    """The buyer a buyer's user or key acts as; ``None`` for anyone else."""
    return principal.buyer_id if principal.role == "buyer" and principal.buyer_id else None


def _one_sale(sales: Sequence[Sale], buyer_id: str | None) -> Sale:
    if buyer_id is not None:
        chosen = [s for s in sales if s.buyer_id == buyer_id]
        if not chosen:
            raise InputError(
                [FieldError(("body", "buyer_id"), "the lead was not sold to it", "value_error")]
            )
        return chosen[0]
    buyers = sorted({s.buyer_id for s in sales})
    if len(buyers) > 1:
        message = f"the lead was sold to several buyers; name one of: {', '.join(buyers)}"
        raise InputError([FieldError(("body", "buyer_id"), message, "missing")])
    return sales[0]


def _meaning(codes: Sequence[DispositionCode], code: str) -> DispositionCode:
    try:
        return code_of(codes, code)
    except DispositionError:  # a code the vertical no longer lists
        return DispositionCode(code, code.replace("_", " ").capitalize())


def _full(row: Disposition, codes: Sequence[DispositionCode], *, staff: bool) -> dict[str, Any]:
    meaning = _meaning(codes, row.code)
    shown: dict[str, Any] = {
        "id": row.id,
        "lead_id": row.lead_id,
        "order_id": row.order_id,
        "code": row.code,
        "label": meaning.label,
        "contacted": meaning.contacted,
        "converted": meaning.converted,
        "value": None if row.value_cents is None else format_money(from_cents(row.value_cents)),
        "note": row.note,
        "reported_by": row.reported_by,
        "reported_at": row.reported_at,
    }
    if staff:
        shown["buyer_id"] = row.buyer_id
    return shown


def _code_only(row: Disposition, codes: Sequence[DispositionCode]) -> dict[str, Any]:
    meaning = _meaning(codes, row.code)
    return {"code": row.code, "label": meaning.label, "reported_at": row.reported_at}


def _figures(row: DispositionRow) -> dict[str, Any]:
    per_sold = row.value_per_sold
    return {
        **row.key,
        "sold": row.sold,
        "disposed": row.disposed,
        "contacted": row.contacted,
        "converted": row.converted,
        "disposition_rate": rate(row.disposition_rate),
        "contact_rate": rate(row.contact_rate),
        "conversion_rate": rate(row.conversion_rate),
        "value": format_money(row.value),
        "value_per_sold": None if per_sold is None else format_money(per_sold),
        "codes": dict(sorted(row.codes.items())),
    }
