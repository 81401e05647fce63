"""A realistic day of traffic through the real API, and the report figures recomputed by hand.

The reference figures are computed in Python from whole ``pings``, ``leads`` and ``sales``
rows and the ledger's entries, independently of the SQL in ``pingtree.store.reports``:
counts from the traffic, money from the entries of sales (gross and net of returns).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.ledger import book_sales
from pingtree.store.tables import Lead, LedgerEntry, Ping, Sale
from tests.api.market import AUTO_VERTICAL, CONTACT, PING, Market, buyer, campaign, order

FRIDAY = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
OCTOBER = dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.UTC)
MONDAY_MORNING = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)

TX = {"zip": "77001", "state": "TX"}
WA = {"zip": "98101", "state": "WA"}


def _states(*states: str) -> dict[str, Any]:
    return {"all": [{"field": "state", "op": "in", "value": list(states)}]}


def mix_config() -> dict[str, Any]:
    """Two suppliers, three campaigns (exclusive, shared, fixed payout with a minimum
    revenue), four live buyers and a test buyer."""
    return {
        "verticals": [copy.deepcopy(AUTO_VERTICAL)],
        "suppliers": [
            {
                "id": "acme",
                "name": "Acme Media",
                "campaigns": [
                    campaign("acme_auto"),
                    campaign(
                        "acme_shared",
                        max_sells=2,
                        payout={"model": "revenue_share", "percent": 60},
                    ),
                ],
            },
            {
                "id": "beta",
                "name": "Beta Leads",
                "campaigns": [
                    campaign(
                        "beta_auto",
                        payout={"model": "fixed", "amount": "8.00"},
                        ping_options={"min_revenue": "30.00"},
                    )
                ],
            },
        ],
        "buyers": [
            buyer("shield", order("shield_fl", "25.00", filters=_states("FL"))),
            buyer(
                "acorn",
                order(
                    "acorn_all",
                    None,
                    pricing={"type": "fixed", "exclusive": "18.00", "shared": "9.00"},
                    filters=_states("FL", "TX"),
                ),
            ),
            buyer(
                "bravo",
                order(
                    "bravo_shared",
                    None,
                    pricing={"type": "fixed", "shared": "17.00"},
                    filters=_states("FL", "TX"),
                ),
            ),
            buyer("texan", order("texan_tx", "40.00", filters=_states("TX"))),
            buyer("qa", order("qa_order", "1.00", test_mode=True)),
        ],
    }


async def run_mix(market: Market, db: async_sessionmaker[AsyncSession]) -> None:
    """Traffic over five weeks, most of it today (Monday 23 November 2026)."""
    market.apply(mix_config())
    now = market.clock.now()

    market.clock.set(OCTOBER)  # outside the last 30 days
    _sold(market.sell())

    market.clock.set(FRIDAY)
    fridays = _sold(market.sell())  # shield 25.00, returned today
    _sold(market.sell(TX))  # texan 40.00
    assert market.ping(WA, "beta_auto")["status"] == "rejected"  # no buyer takes WA

    market.clock.set(MONDAY_MORNING)
    _sold(market.sell(campaign_id="acme_shared"))  # bravo 17.00 + acorn 9.00 beat 25.00

    market.clock.set(now)
    refused = _sold(market.sell())  # the buyer will refuse it
    returned = _sold(market.sell())  # the buyer will return it
    assert market.ping()["status"] == "accepted"  # never posted
    assert market.ping(campaign_id="beta_auto")["status"] == "rejected"  # 25.00 < 30.00
    _sold(market.sell(TX, "beta_auto"))  # texan 40.00, a fixed payout of 8.00
    unsold = market.direct_post({**PING, **CONTACT, **WA}, "beta_auto")
    assert unsold["status"] != "sold", unsold
    pinged = market.ping(test=True)
    assert market.post(pinged["ping_id"])["status"] == "sold"  # qa, a test sale

    async with db.begin() as session:
        await session.execute(update(Sale).where(Sale.lead_id == refused).values(status="rejected"))
        refused_sales = await session.scalars(select(Sale.id).where(Sale.lead_id == refused))
        await book_sales(session, list(refused_sales), now)  # as SaleRepository does
    for lead_id in (returned, fridays):
        approve_return(market, lead_id, reason="wrong_number")


def approve_return(market: Market, lead_id: str, *, reason: str) -> None:
    """Return the lead's sale through the admin API and approve it (``flows.returns``): the
    buyer's ``return`` credit of the price and, by the campaign's rule, the supplier's
    ``chargeback`` of its payout, dated the approval; the sale's ``returned_at``."""
    asked = market.http.post(
        "/api/v1/admin/returns", json={"lead_id": lead_id, "reason": reason}, headers=market.admin
    )
    assert asked.status_code == 201, asked.text
    approved = market.http.post(
        f"/api/v1/admin/returns/{asked.json()['id']}/approve", headers=market.admin
    )
    assert approved.status_code == 200, approved.text


def _sold(answer: dict[str, Any]) -> str:
    assert answer["status"] == "sold", answer
    return str(answer["lead_id"])


# --- the figures by hand -----------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    """Rows of a range: pings, leads and sales by their creation, returned sales by their
    return, ledger entries by their date."""

    pings: list[Ping]
    leads: list[Lead]
    sales: list[Sale]
    returned: list[Sale]
    entries: list[LedgerEntry]

    def within(self, start: dt.datetime, end: dt.datetime, test: bool = False) -> Traffic:
        def keep(row: Ping | Lead | Sale) -> bool:
            return start <= row.created_at < end and row.test == test

        def back(sale: Sale) -> bool:
            at = sale.returned_at
            return at is not None and start <= at < end and sale.test == test

        return Traffic(
            [p for p in self.pings if keep(p)],
            [lead for lead in self.leads if keep(lead)],
            [s for s in self.sales if keep(s)],
            [s for s in self.returned if back(s)],
            [e for e in self.entries if start <= e.at < end and e.test == test],
        )


NOTHING = Traffic([], [], [], [], [])


async def load_traffic(db: async_sessionmaker[AsyncSession]) -> Traffic:
    async with db() as session:
        sales = list((await session.scalars(select(Sale))).all())
        return Traffic(
            list((await session.scalars(select(Ping))).all()),
            list((await session.scalars(select(Lead))).all()),
            sales,
            [sale for sale in sales if sale.returned_at is not None],
            list((await session.scalars(select(LedgerEntry))).all()),
        )


def ledger_money(entries: list[LedgerEntry]) -> dict[str, int]:
    """Cents of the entries of sales: what buyers were charged and credited back, what
    suppliers earned and were charged back."""
    of_sales = [e for e in entries if e.sale_id is not None]
    buyers = [e for e in of_sales if e.account.startswith("buyer:")]
    suppliers = [e for e in of_sales if e.account.startswith("supplier:")]
    return {
        "gross_revenue": -sum(e.amount_cents for e in buyers if e.kind in ("sale", "adjustment")),
        "returns": sum(e.amount_cents for e in buyers if e.kind == "return"),
        "gross_cost": sum(e.amount_cents for e in suppliers if e.kind in ("payout", "adjustment")),
        "chargebacks": -sum(e.amount_cents for e in suppliers if e.kind == "chargeback"),
    }


def figures(traffic: Traffic, *, inbound: bool = True) -> dict[str, Any]:
    """The figures as the API spells them."""
    sold_sales = [s for s in traffic.sales if s.status == "sold"]
    money = ledger_money(traffic.entries)
    revenue = money["gross_revenue"] - money["returns"]
    cost = money["gross_cost"] - money["chargebacks"]
    pings = len(traffic.pings) if inbound else 0
    accepted = sum(p.status == "accepted" for p in traffic.pings) if inbound else 0
    posts = sum(lead.ping_id is not None for lead in traffic.leads) if inbound else 0
    leads = len(traffic.leads) if inbound else len({s.lead_id for s in traffic.sales})
    sold = len({s.lead_id for s in sold_sales})
    return {
        "pings": pings,
        "accepted_pings": accepted,
        "leads": leads,
        "posts": posts,
        "sold": sold,
        "sales": len(sold_sales),
        "returned": len(traffic.returned),
        "gross_revenue": _money(money["gross_revenue"]),
        "returns": _money(money["returns"]),
        "revenue": _money(revenue),
        "gross_cost": _money(money["gross_cost"]),
        "chargebacks": _money(money["chargebacks"]),
        "cost": _money(cost),
        "profit": _money(revenue - cost),
        "acceptance_rate": _rate(accepted, pings),
        "conversion": _rate(posts, accepted),
        "sell_rate": _rate(sold, leads),
        "return_rate": _rate(len(traffic.returned), len(sold_sales)),
    }


def by_key(traffic: Traffic, column: str, *, inbound: bool) -> dict[str, dict[str, Any]]:
    """The figures of each value of ``column`` (pings and leads have no buyer or order)."""
    groups = _partition(traffic, lambda row: getattr(row, column, None))
    return {key: figures(group, inbound=inbound) for key, group in groups.items()}


def by_bucket(traffic: Traffic, label: Callable[[dt.datetime], str]) -> dict[str, dict[str, Any]]:
    """The figures of each ``label`` of a row's time (an entry's date, a return's)."""
    groups = _partition(traffic, lambda row: label(row.created_at), returned=label, at=label)
    return {key: figures(group) for key, group in groups.items()}


def by_field(traffic: Traffic, name: str, leads: list[Lead]) -> dict[str, dict[str, Any]]:
    """The figures of each value of a lead's field (``""``: none), pings by their own; the
    sales and entries by their lead's (among ``leads``, of any day)."""
    lead_of = {lead.id: lead for lead in leads}

    def value(row: Any) -> str | None:
        if isinstance(row, Ping | Lead):
            return str(row.fields.get(name) or "")
        if row.lead_id is None:  # an operator's entry: of no lead
            return None
        return str(lead_of[row.lead_id].fields.get(name) or "")

    groups = _partition(traffic, value)
    return {key: figures(group) for key, group in groups.items()}


def _partition(
    traffic: Traffic,
    key_of: Callable[[Any], str | None],
    *,
    returned: Callable[[dt.datetime], str] | None = None,
    at: Callable[[dt.datetime], str] | None = None,
) -> dict[str, Traffic]:
    """Rows by ``key_of``; a returned sale by ``returned`` of its return's time and an entry
    by ``at`` of its date when given (a series), else by ``key_of`` of the row."""
    groups: dict[str, Traffic] = {}

    def group(key: str) -> Traffic:
        return groups.setdefault(key, Traffic([], [], [], [], []))

    for ping in traffic.pings:
        if (key := key_of(ping)) is not None:
            group(key).pings.append(ping)
    for lead in traffic.leads:
        if (key := key_of(lead)) is not None:
            group(key).leads.append(lead)
    for sale in traffic.sales:
        if (key := key_of(sale)) is not None:
            group(key).sales.append(sale)
    for sale in traffic.returned:
        assert sale.returned_at is not None
        key = returned(sale.returned_at) if returned else key_of(sale)
        if key is not None:
            group(key).returned.append(sale)
    for entry in traffic.entries:
        key = at(entry.at) if at else key_of(entry)
        if key is not None:
            group(key).entries.append(entry)
    return groups


def _money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
