"""A realistic day of traffic through the real API, and the report figures recomputed by hand.

The reference figures are computed in Python from whole ``pings``, ``leads`` and ``sales``
rows, independently of the SQL in ``pingtree.store.reports``.
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

from pingtree.store.tables import Lead, Ping, Sale
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
    _sold(market.sell())  # shield 25.00
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
        await session.execute(
            update(Sale)
            .where(Sale.lead_id == returned)
            .values(returned_at=now, return_reason="disconnected phone")
        )


def _sold(answer: dict[str, Any]) -> str:
    assert answer["status"] == "sold", answer
    return str(answer["lead_id"])


# --- the figures by hand -----------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    pings: list[Ping]
    leads: list[Lead]
    sales: list[Sale]

    def within(self, start: dt.datetime, end: dt.datetime, test: bool = False) -> Traffic:
        def keep(row: Ping | Lead | Sale) -> bool:
            return start <= row.created_at < end and row.test == test

        return Traffic(
            [p for p in self.pings if keep(p)],
            [lead for lead in self.leads if keep(lead)],
            [s for s in self.sales if keep(s)],
        )


async def load_traffic(db: async_sessionmaker[AsyncSession]) -> Traffic:
    async with db() as session:
        return Traffic(
            list((await session.scalars(select(Ping))).all()),
            list((await session.scalars(select(Lead))).all()),
            list((await session.scalars(select(Sale))).all()),
        )


def earns(sale: Sale) -> bool:
    return sale.status == "sold" and sale.returned_at is None


def figures(traffic: Traffic, *, inbound: bool = True) -> dict[str, Any]:
    """The figures as the API spells them."""
    earning = [s for s in traffic.sales if earns(s)]
    revenue = sum(s.revenue_cents for s in earning)
    cost = sum(s.cost_cents for s in earning)
    pings = len(traffic.pings) if inbound else 0
    accepted = sum(p.status == "accepted" for p in traffic.pings) if inbound else 0
    posts = sum(lead.ping_id is not None for lead in traffic.leads) if inbound else 0
    leads = len(traffic.leads) if inbound else len({s.lead_id for s in traffic.sales})
    sold = len({s.lead_id for s in earning})
    return {
        "pings": pings,
        "accepted_pings": accepted,
        "leads": leads,
        "posts": posts,
        "sold": sold,
        "sales": len(earning),
        "revenue": _money(revenue),
        "cost": _money(cost),
        "profit": _money(revenue - cost),
        "acceptance_rate": _rate(accepted, pings),
        "conversion": _rate(posts, accepted),
        "sell_rate": _rate(sold, leads),
    }


def by_key(traffic: Traffic, column: str, *, inbound: bool) -> dict[str, dict[str, Any]]:
    """The figures of each value of ``column`` (pings and leads have no buyer or order)."""
    groups = _partition(traffic, lambda row: getattr(row, column, None))
    return {key: figures(group, inbound=inbound) for key, group in groups.items()}


def by_bucket(traffic: Traffic, label: Callable[[dt.datetime], str]) -> dict[str, dict[str, Any]]:
    """The figures of each ``label`` of a row's creation time."""
    groups = _partition(traffic, lambda row: label(row.created_at))
    return {key: figures(group) for key, group in groups.items()}


def _partition(
    traffic: Traffic, key_of: Callable[[Ping | Lead | Sale], str | None]
) -> dict[str, Traffic]:
    groups: dict[str, Traffic] = {}

    def group(key: str) -> Traffic:
        return groups.setdefault(key, Traffic([], [], []))

    for ping in traffic.pings:
        if (key := key_of(ping)) is not None:
            group(key).pings.append(ping)
    for lead in traffic.leads:
        if (key := key_of(lead)) is not None:
            group(key).leads.append(lead)
    for sale in traffic.sales:
        if (key := key_of(sale)) is not None:
            group(key).sales.append(sale)
    return groups


def _money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
