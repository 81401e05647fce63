"""Invoices and payout statements as documents: a party's ledger entries over a period, in
lines, sections and totals, every figure a sum of entries to the cent (DESIGN §9).

A **buyer's invoice** lists what moved its account: the leads it bought (``sale``: the
price off its balance), the returns credited (``return``), its top-ups and payments
(``topup``) and adjustments, each signed as it moves the balance. Its totals:

- ``charges``: the leads' prices (a positive sum); ``credits``: the returns; ``topups``;
  ``adjustments`` (signed);
- ``due``: what the period's activity costs it, ``charges − credits − adjustments``: the
  headline of a buyer on credit;
- ``opening`` and ``closing`` balances, ``closing = opening + movement``: the headline of a
  prepaid buyer.

A **supplier's payout statement** lists its ``payout``, ``chargeback`` and ``adjustment``
entries, signed as they move what the marketplace owes it; ``payable`` is their sum, with
``earned``, ``charged_back`` and the balances. A statement line names the lead and the
supplier's own campaign, never a buyer, an order or a price.

Lines dated before the period (``carried``) are entries that were on no earlier issued
document: written late into a closed period, or before the party's first one.
This module is pure: entries come in as :class:`Movement` values, times as aware UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pingtree.domain.money import format_money, from_cents

__all__ = [
    "BUYER_KINDS",
    "DOCUMENT_KINDS",
    "PREFIXES",
    "SUPPLIER_KINDS",
    "DocumentKind",
    "Movement",
    "Period",
    "build_document",
    "cents_text",
    "document_number",
]

DocumentKind = Literal["invoice", "statement"]
DOCUMENT_KINDS: tuple[DocumentKind, ...] = ("invoice", "statement")
#: each kind's numbers: ``INV-2026-0001``, ``ST-2026-0001``
PREFIXES: dict[DocumentKind, str] = {"invoice": "INV", "statement": "ST"}
#: the ledger kinds each document lists, in the order of its sections
BUYER_KINDS = ("sale", "return", "topup", "adjustment")
SUPPLIER_KINDS = ("payout", "chargeback", "adjustment")
_TITLES = {
    "sale": "Leads",
    "return": "Returns credited",
    "topup": "Top-ups and payments",
    "adjustment": "Adjustments",
    "payout": "Leads sold",
    "chargeback": "Chargebacks",
}


@dataclass(frozen=True, slots=True)
class Movement:
    """One ledger entry as a document shows it. ``amount_cents`` is signed as it moves the
    party's balance; ``order_id`` is a buyer's, ``campaign_id`` a supplier's."""

    entry_id: str
    kind: str
    at: dt.datetime
    amount_cents: int
    lead_id: str | None = None
    order_id: str | None = None
    campaign_id: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)``: whole local days of ``zone``, ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date
    start: dt.datetime
    end: dt.datetime
    zone: str


def document_number(kind: DocumentKind, year: int, sequence: int) -> str:
    """``INV-2026-0001``: the kind's prefix, the year, the number in its year (4 digits at
    least)."""
    return f"{PREFIXES[kind]}-{year}-{sequence:04d}"


def cents_text(cents: int) -> str:
    """Cents as money text with two decimals: ``-41.17``."""
    return format_money(from_cents(cents))


def build_document(
    kind: DocumentKind,
    party: dict[str, str],
    period: Period,
    movements: Sequence[Movement],
    opening_cents: int,
    *,
    account_kind: str | None = None,
) -> dict[str, Any]:
    """The document (JSON-ready: money as text, times as ISO strings) of ``movements``, the
    party's entries on no issued document dated before ``period.end``, oldest first.
    ``opening_cents`` is where the party's previous document closed (0 before its first):
    the sum of the entries on its issued documents, so ``opening + lines = closing`` is the
    sum of every entry before ``period.end`` that issuing would have seen.

    ``party`` holds ``kind`` (``buyer``/``supplier``), ``id`` and ``name``. A movement of a
    kind the document does not list raises ``ValueError`` (the caller picked the entries)."""
    listed = BUYER_KINDS if kind == "invoice" else SUPPLIER_KINDS
    zone = ZoneInfo(period.zone)
    lines = []
    sums = dict.fromkeys(listed, 0)
    counts = dict.fromkeys(listed, 0)
    for movement in movements:
        if movement.kind not in listed:
            raise ValueError(f"a {movement.kind} entry is not on a {kind}")
        sums[movement.kind] += movement.amount_cents
        counts[movement.kind] += 1
        lines.append(_line(kind, movement, period, zone))
    movement_cents = sum(sums.values())
    closing_cents = opening_cents + movement_cents
    totals: dict[str, Any]
    if kind == "invoice":
        due = -(sums["sale"] + sums["return"] + sums["adjustment"])
        totals = {
            "leads": counts["sale"],
            "returns": counts["return"],
            "charges": cents_text(-sums["sale"]),
            "credits": cents_text(sums["return"]),
            "topups": cents_text(sums["topup"]),
            "adjustments": cents_text(sums["adjustment"]),
            "due": cents_text(due),
        }
        total_cents = due
    else:
        totals = {
            "leads": counts["payout"],
            "chargebacks": counts["chargeback"],
            "earned": cents_text(sums["payout"]),
            "charged_back": cents_text(-sums["chargeback"]),
            "adjustments": cents_text(sums["adjustment"]),
            "payable": cents_text(movement_cents),
        }
        total_cents = movement_cents
    totals |= {
        "opening": cents_text(opening_cents),
        "movement": cents_text(movement_cents),
        "closing": cents_text(closing_cents),
    }
    return {
        "kind": kind,
        "number": None,
        "status": "draft",
        "party": dict(party),
        "account_kind": account_kind,
        "period": {
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "time_zone": period.zone,
            "start": period.start.astimezone(dt.UTC).isoformat(),
            "end": period.end.astimezone(dt.UTC).isoformat(),
        },
        "sections": [
            {
                "kind": entry_kind,
                "title": _TITLES[entry_kind],
                "count": counts[entry_kind],
                "total": cents_text(sums[entry_kind]),
            }
            for entry_kind in listed
        ],
        "lines": lines,
        "totals": totals,
        "cents": {"opening": opening_cents, "closing": closing_cents, "total": total_cents},
        "issued_by": None,
        "issued_at": None,
    }


def _line(kind: DocumentKind, movement: Movement, period: Period, zone: ZoneInfo) -> dict[str, Any]:
    line: dict[str, Any] = {
        "entry_id": movement.entry_id,
        "date": movement.at.astimezone(zone).date().isoformat(),
        "kind": movement.kind,
        "lead_id": movement.lead_id,
    }
    # a buyer sees its own order; a supplier its own campaign, never the buyer's order
    if kind == "invoice":
        line["order_id"] = movement.order_id
    else:
        line["campaign_id"] = movement.campaign_id
    line |= {
        "amount": cents_text(movement.amount_cents),
        "note": movement.note,
        # in UTC: aware times of one zone compare by their wall clocks
        "carried": movement.at.astimezone(dt.UTC) < period.start.astimezone(dt.UTC),
    }
    return line
