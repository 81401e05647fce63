"""Every report's money equals the ledger's entries to the cent (DESIGN §9), gross and net of
returns; and reports group by a lead's tracking fields and report dimensions (attribution).

Leads are sold through the real HTTP API, one buyer through its real post endpoint (a mock
buyer on loopback); returns are approved through the admin API (``flows.returns``), one a
day after its sale, one of a campaign that does not charge returns back; an operator's
top-up and payment of a supplier are in the ledger too, and no report counts them (they
move balances, not what a lead earned).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.mockbuyer import MockBuyer
from pingtree.store.ledger import (
    EntryKind,
    LedgerRepository,
    buyer_account,
    new_entry,
    supplier_account,
)
from pingtree.store.supplier_figures import supplier_figures
from pingtree.store.tables import LedgerEntry
from tests.api.market import AUTO_VERTICAL, CONTACT, PING, Market, buyer, campaign, order
from tests.reports.mix import approve_return, by_field, ledger_money, load_traffic
from tests.support.buyers import running_buyers

YESTERDAY = dt.datetime(2026, 11, 22, 14, 0, tzinfo=dt.UTC)
TODAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
TOMORROW = TODAY + dt.timedelta(days=1)
MONEY = ("gross_revenue", "returns", "revenue", "gross_cost", "chargebacks", "cost", "profit")
ATTRIBUTION = ("sub_id", "click_id", "utm_source", "utm_campaign", "credit")


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"taker": {"check_token": False}}) as running:
        yield running


def config(mock: MockBuyer) -> dict[str, Any]:
    """A vertical whose ``credit`` is a report dimension; a buyer of Florida's leads and one
    of Texas's through its post endpoint; one campaign charging returns back, one not."""
    vertical = copy.deepcopy(AUTO_VERTICAL)
    for spec in vertical["fields"]:
        if spec["name"] == "credit":
            spec["report_dimension"] = True
    post = {
        "url": mock.post_url("taker"),
        "content_type": "json",
        "timeout_ms": 2000,
        "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    tx = {"all": [{"field": "state", "op": "in", "value": ["TX"]}]}
    return {
        "verticals": [vertical],
        "suppliers": [
            {
                "id": "acme",
                "campaigns": [
                    campaign("acme_auto"),
                    campaign("acme_keep", charge_back_returns=False),
                ],
            }
        ],
        "buyers": [
            buyer("shield", order("shield_fl", "25.00")),
            buyer("taker", order("taker_tx", "40.00", filters=tx, delivery={"post": post})),
        ],
    }


def sell(
    market: Market, tracking: dict[str, str], campaign_id: str = "acme_auto", **more: Any
) -> str:
    """Ping and post a lead with ``tracking`` fields in both; its lead id."""
    fields = {**PING, **more, **tracking}
    pinged = market.ping(fields, campaign_id)
    assert pinged["status"] == "accepted", pinged
    answer = market.post(pinged["ping_id"], {**fields, **CONTACT}, campaign_id)
    assert answer["status"] == "sold", answer
    return str(answer["lead_id"])


@pytest.fixture
async def sold(
    market: Market, mock: MockBuyer, db: async_sessionmaker[AsyncSession]
) -> dict[str, str]:
    market.apply(config(mock))
    now = market.clock.now()
    leads: dict[str, str] = {}
    market.clock.set(YESTERDAY)
    leads["yesterday"] = sell(market, {"sub_id": "pub-1", "utm_source": "fb"})
    market.clock.set(now)
    leads["fb"] = sell(market, {"sub_id": "pub-1", "click_id": "c1", "utm_source": "fb"})
    leads["kept"] = sell(market, {"sub_id": "pub-2", "utm_campaign": "spring"}, "acme_keep")
    leads["tx"] = sell(market, {"sub_id": "pub-2"}, zip="77001", state="TX", credit="fair")
    leads["bare"] = sell(market, {})
    for name in ("yesterday", "fb"):  # the buyer's and the supplier's money back
        approve_return(market, leads[name], reason="wrong_number")
    approve_return(market, leads["kept"], reason="duplicate")  # its campaign keeps the payout
    async with db.begin() as session:  # an operator's entries: of no sale
        await LedgerRepository(session).add(
            [
                new_entry(EntryKind.TOPUP, buyer_account("shield"), 50_000, now, note="wire"),
                new_entry(EntryKind.ADJUSTMENT, supplier_account("acme"), -1_000, now, note="paid"),
            ]
        )
    return leads


async def entries_of(db: async_sessionmaker[AsyncSession]) -> list[LedgerEntry]:
    async with db() as session:
        found = await session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.at >= TODAY, LedgerEntry.at < TOMORROW, LedgerEntry.test.is_(False)
            )
        )
        return list(found.all())


def report(market: Market, name: str, **params: Any) -> Any:
    response = market.http.get(f"/api/v1/admin/reports/{name}", params=params, headers=market.admin)
    assert response.status_code == 200, response.text
    return response.json()


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(cents(row[name]) for row in rows) for name in MONEY}


def expected_money(entries: list[LedgerEntry]) -> dict[str, int]:
    """The report's money by hand: sums of the entries of sales, by kind and account."""
    money = ledger_money(entries)
    revenue = money["gross_revenue"] - money["returns"]
    cost = money["gross_cost"] - money["chargebacks"]
    return {**money, "revenue": revenue, "cost": cost, "profit": revenue - cost}


async def test_every_report_equals_the_ledger_to_the_cent(
    market: Market, db: async_sessionmaker[AsyncSession], sold: dict[str, str]
) -> None:
    entries = await entries_of(db)
    by_hand = expected_money(entries)
    # today: shield 25.00 ×3 (payout 17.50 each), taker 40.00 (28.00) sold; yesterday's and
    # today's fb leads returned (25.00 back, 17.50 charged back each), the kept one returned
    # without a chargeback
    assert by_hand == {
        "gross_revenue": 115_00,
        "returns": 75_00,
        "revenue": 40_00,
        "gross_cost": 80_50,
        "chargebacks": 35_00,
        "cost": 45_50,
        "profit": -5_50,
    }
    # the operator's top-up and payment are entries of the day, of no sale
    assert {e.kind for e in entries if e.sale_id is None} == {"topup", "adjustment"}

    summary = report(market, "summary", period="today")
    assert {name: cents(summary[name]) for name in MONEY} == by_hand
    assert (summary["sold"], summary["sales"], summary["returned"]) == (4, 4, 3)
    assert summary["return_rate"] == 0.75

    series = report(market, "timeseries", period="today", bucket="hour")["points"]
    assert totals(series) == by_hand
    days = report(market, "timeseries", period="7d", bucket="day")["points"]
    assert {name: cents(days[-1][name]) for name in MONEY} == by_hand
    # yesterday's sale stays yesterday's: its return is today's
    assert (days[-2]["gross_revenue"], days[-2]["returns"]) == ("25.00", "0.00")

    for by in ("supplier", "campaign", "buyer", "order", "vertical", *ATTRIBUTION):
        answer = report(market, "breakdown", by=by, period="today")
        assert totals(answer["rows"]) == by_hand, by
        assert {name: cents(answer["total"][name]) for name in MONEY} == by_hand, by
        response = market.http.get(
            "/api/v1/admin/reports/breakdown",
            params={"by": by, "period": "today", "format": "csv"},
            headers=market.admin,
        )
        lines = list(csv.DictReader(io.StringIO(response.text)))
        assert totals(lines) == by_hand, by


async def test_the_supplier_portals_payout_is_the_ledgers(
    market: Market, db: async_sessionmaker[AsyncSession], sold: dict[str, str]
) -> None:
    entries = [e for e in await entries_of(db) if e.sale_id is not None]
    async with db() as session:
        found = await supplier_figures(session, None, TODAY, TOMORROW)
    payout = sum((row.payout for row in found.rows), Decimal(0))
    chargebacks = sum((row.chargebacks for row in found.rows), Decimal(0))
    earned = [e for e in entries if e.kind in ("payout", "adjustment")]
    assert payout * 100 == sum(e.amount_cents for e in earned if e.account == "supplier:acme")
    assert chargebacks * 100 == -sum(e.amount_cents for e in entries if e.kind == "chargeback")
    assert (payout, chargebacks) == (Decimal("80.50"), Decimal("35.00"))
    by_sub: dict[str, tuple[Decimal, Decimal, int]] = {}
    for row in found.rows:  # over the day's campaigns
        payout_, back, returned = by_sub.get(row.sub_id, (Decimal(0), Decimal(0), 0))
        by_sub[row.sub_id] = (payout_ + row.payout, back + row.chargebacks, returned + row.returned)
    # pub-1: today's lead earned 17.50; it and yesterday's were charged back
    assert by_sub["pub-1"] == (Decimal("17.50"), Decimal("35.00"), 2)
    assert by_sub["pub-2"] == (Decimal("45.50"), Decimal("0.00"), 1)


async def test_breakdowns_by_tracking_fields_and_report_dimensions(
    market: Market, db: async_sessionmaker[AsyncSession], sold: dict[str, str]
) -> None:
    traffic = (await load_traffic(db)).within(TODAY, TOMORROW)
    every_lead = (await load_traffic(db)).leads
    for by in ATTRIBUTION:
        rows = report(market, "breakdown", by=by, period="today")["rows"]
        got = {row["key"]: {k: v for k, v in row.items() if k != "key"} for row in rows}
        assert got == by_field(traffic, by, every_lead), by
    rows = {r["key"]: r for r in report(market, "breakdown", by="sub_id", period="today")["rows"]}
    # pub-1: one sale today, two returns (today's and yesterday's); pub-2: two sales, one
    # returned without a chargeback
    assert (rows["pub-1"]["sales"], rows["pub-1"]["returned"], rows["pub-1"]["revenue"]) == (
        1,
        2,
        "-25.00",
    )
    assert (rows["pub-2"]["return_rate"], rows["pub-2"]["chargebacks"]) == (0.5, "0.00")
    assert rows[""]["sales"] == 1  # the lead without a sub_id
    by_credit = report(market, "breakdown", by="credit", period="today")["rows"]
    assert {r["key"] for r in by_credit} == {"good", "fair"}


def test_a_dimension_must_be_known(market: Market, sold: dict[str, str]) -> None:
    for by in ("colour", "phone", "first_name"):
        response = market.http.get(
            "/api/v1/admin/reports/breakdown", params={"by": by}, headers=market.admin
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "by"]


def test_a_pii_field_is_refused_as_a_report_dimension(market: Market, mock: MockBuyer) -> None:
    spec = config(mock)
    for field in spec["verticals"][0]["fields"]:
        if field["name"] == "phone":
            field["report_dimension"] = True
    response = market.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(spec),
        headers={**market.admin, "content-type": "application/yaml"},
    )
    assert response.status_code == 422, response.text
    assert "cannot be a report dimension" in response.text
    assert "report_dimension" in response.text


def test_the_leads_fields_are_stored_as_sent(market: Market, sold: dict[str, str]) -> None:
    lead = market.lead(sold["fb"])
    assert (lead["fields"]["utm_source"], lead["fields"]["click_id"]) == ("fb", "c1")
