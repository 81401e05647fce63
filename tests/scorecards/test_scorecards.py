"""Buyers' and suppliers' scorecards over a real market: mock buyers bidding, winning,
accepting and failing posts over loopback HTTP, then returns and dispositions on the sales,
read from the admin API, a party's own key and the pages."""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.mockbuyer import EndpointConfig, MockBuyer
from pingtree.store.scorecards import buyer_scorecard
from pingtree.store.tables import AttemptRow, Disposition, Return
from tests.api.market import Market, buyer, marketplace
from tests.api.test_live_bids import live_order
from tests.reports.test_buyers_and_caps import attempt
from tests.scorecards.test_post_failures import posting
from tests.support.buyers import running_buyers

ENDPOINTS: dict[str, dict[str, Any]] = {
    "rich": {"bid": {"kind": "fixed", "amount": "35.00"}, "latency": 20},
    "cheap": {"bid": {"kind": "fixed", "amount": "12.00"}},
    "flaky": {"check_token": False, "misbehaviour": {"kind": "error", "status": 503, "on": "post"}},
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(ENDPOINTS) as running:
        yield running


def wall_range() -> dict[str, str]:
    """Today and tomorrow around the wall clock: the delivery log's attempts are timed by
    it, the sales by the test's frozen clock (23 Nov 2026), which this covers too."""
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    return {"from": "2026-11-01T00:00:00Z", "to": f"{tomorrow}T23:59:59Z"}


def scorecard(market: Market, path: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = market.http.get(path, params=wall_range(), headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def settled(market: Market, buyer_id: str, tries: int) -> dict[str, Any]:
    """The buyer's scorecard once the delivery log holds ``tries`` of its posts (the log
    is written in batches)."""
    give_up = time.monotonic() + 10
    while True:
        card = scorecard(market, f"/api/v1/admin/buyers/{buyer_id}/scorecard", market.admin)
        if card["post_tries"] >= tries or time.monotonic() > give_up:
            return card
        time.sleep(0.05)


def party_key(market: Market, kind: str, party_id: str) -> dict[str, str]:
    made = market.http.post(f"/api/v1/admin/{kind}s/{party_id}/keys", headers=market.admin)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['api_key']}"}


async def test_a_buyers_and_a_suppliers_scorecard(
    market: Market, mock: MockBuyer, db: async_sessionmaker[AsyncSession]
) -> None:
    market.apply(
        marketplace(
            [
                buyer("rich", live_order(mock, "rich")),
                buyer("cheap", live_order(mock, "cheap")),
                posting(mock.post_url("flaky"), "flaky", "40.00", retries=2),
            ]
        )
    )
    # flaky's fixed 40.00 wins every ping, rich outbids cheap: two leads go to flaky, which
    # answers 503 three times each, and fall to rich; a third ping is never posted
    sold = [market.sell(), market.sell()]
    assert [s["status"] for s in sold] == ["sold", "sold"]
    assert market.ping()["status"] == "accepted"
    # then flaky hangs: a post timeout, held as unknown (its lead pending)
    mock.configure(
        "flaky",
        EndpointConfig.model_validate(
            {"check_token": False, "misbehaviour": {"kind": "hang", "on": "post"}}
        ),
    )
    assert market.sell()["status"] == "pending"
    paused = market.http.post("/api/v1/admin/config/buyers/flaky/pause", headers=market.admin)
    assert paused.status_code == 200, paused.text
    # one lead sold straight to rich, returned, and disposed of as sold
    returned = market.sell()
    assert returned["status"] == "sold"

    lead = market.lead(returned["lead_id"])
    (sale,) = [s for s in lead["sales"] if s["status"] == "sold"]
    first = market.lead(sold[0]["lead_id"])
    (first_sale,) = [s for s in first["sales"] if s["status"] == "sold"]
    async with db.begin() as session:
        await session.execute(insert(Return), [_approved_return(sale, returned["lead_id"])])
        await session.execute(
            insert(Disposition),
            [
                _disposition(sale, returned["lead_id"], "sold", 120_000),
                _disposition(first_sale, sold[0]["lead_id"], "bad_number", None),
            ],
        )

    flaky = settled(market, "flaky", 4)
    assert (flaky["posts"], flaky["posts_accepted"], flaky["accepted_rate"]) == (3, 0, 0.0)
    assert flaky["post_tries"] == 7
    assert flaky["post_failures"] == {
        "rejected": 0,
        "timeout": 1,
        "http_5xx": 6,
        "http_429": 0,
        "connect": 0,
        "reset": 0,
        "unreadable": 0,
        "not_sent": 0,
    }
    assert (flaky["pings"], flaky["bid_rate"], flaky["latency_ms"]["p50"]) == (0, None, None)

    rich = settled(market, "rich", 3)
    # 5 pings (4 sold or pending, 1 never posted), all bid; 3 leads sold to rich
    assert (rich["pings"], rich["bids"], rich["bid_rate"]) == (5, 5, 1.0)
    assert (rich["wins"], rich["win_rate"]) == (3, 0.6)
    assert (rich["posts"], rich["posts_accepted"], rich["accepted_rate"]) == (3, 3, 1.0)
    assert sum(rich["post_failures"].values()) == 0
    latency = rich["latency_ms"]
    assert 20 <= latency["p50"] <= latency["p90"] <= latency["p99"]
    assert (rich["ping_timeouts"], rich["ping_errors"]) == (0, 0)
    assert (rich["sold"], rich["returned"], rich["return_rate"]) == (3, 1, round(1 / 3, 4))
    dispositions = rich["dispositions"]
    assert (dispositions["sold"], dispositions["disposed"]) == (3, 2)
    assert (dispositions["contact_rate"], dispositions["conversion_rate"]) == (0.5, 0.5)
    assert dispositions["value_per_sold"] == "400.00"  # 1,200.00 over 3 sales

    cheap = settled(market, "cheap", 0)
    assert (cheap["pings"], cheap["bids"], cheap["wins"], cheap["win_rate"]) == (5, 5, 0, 0.0)

    acme = scorecard(market, "/api/v1/admin/suppliers/acme/scorecard", market.admin)
    assert (acme["pings"], acme["accepted_pings"], acme["acceptance_rate"]) == (5, 5, 1.0)
    assert (acme["leads"], acme["posts"], acme["ping_to_post"]) == (4, 4, 0.8)
    # three leads sold (one since returned), one pending on flaky's unknown post
    assert (acme["sold_leads"], acme["sell_rate"]) == (3, 0.75)
    assert (acme["sold"], acme["returned"], acme["return_rate"]) == (3, 1, round(1 / 3, 4))
    assert (acme["dispositions"]["contact_rate"], acme["dispositions"]["disposed"]) == (0.5, 2)
    assert "value_per_sold" not in acme["dispositions"]

    # each party reads its own with its own key: the same figures, nothing of another
    own = scorecard(market, "/api/v1/buyer/scorecard", party_key(market, "buyer", "rich"))
    assert own == rich
    supplier_key = party_key(market, "supplier", "acme")
    own_supplier = market.http.get(
        "/api/v1/supplier/scorecard", params=wall_range(), headers=supplier_key
    )
    assert own_supplier.json() == acme
    for word in ("rich", "cheap", "flaky", "35.00", "40.00", "revenue", "price"):
        assert word not in own_supplier.text
    for path in ("/api/v1/admin/buyers/rich/scorecard", "/api/v1/buyer/scorecard"):
        assert market.http.get(path, headers=supplier_key).status_code == 403
    assert (
        market.http.get("/api/v1/admin/buyers/nobody/scorecard", headers=market.admin).status_code
        == 404
    )


async def test_latency_percentiles_are_the_nearest_rank(
    market: Market, db: async_sessionmaker[AsyncSession]
) -> None:
    now = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)
    durations = [*range(10, 1010, 10), 5000]  # 101 pings
    rows = [attempt("slowpoke", "slowpoke_fl", "ping", "bid", ms, now) for ms in durations]
    rows += [
        attempt("slowpoke", "slowpoke_fl", "ping", "timeout", 2000, now),
        attempt("slowpoke", "slowpoke_fl", "ping", "error", 1, now),
        # skipped before sending: not a ping sent, not a latency
        attempt("slowpoke", "slowpoke_fl", "ping", "skipped_slow", 0, now),
        attempt("slowpoke", "slowpoke_fl", "ping", "circuit_open", 0, now),
        # another buyer's, and one outside the range
        attempt("other", "other_fl", "ping", "bid", 1, now),
        attempt("slowpoke", "slowpoke_fl", "ping", "bid", 9999, now - dt.timedelta(days=9)),
    ]
    async with db.begin() as session:
        await session.execute(insert(AttemptRow), rows)
    sent = sorted([*durations, 2000, 1])
    async with db() as session:
        card = await buyer_scorecard(
            session, "slowpoke", now - dt.timedelta(days=1), now + dt.timedelta(hours=1)
        )
    assert card.pings == len(sent) == 103
    assert (card.p50_ms, card.p90_ms, card.p99_ms) == tuple(
        sent[math.ceil(len(sent) * p / 100) - 1] for p in (50, 90, 99)
    )
    assert (card.ping_timeouts, card.ping_errors, card.bids) == (1, 1, 101)
    assert card.bid_rate == 101 / 103
    async with db() as session:
        nothing = await buyer_scorecard(session, "nobody", now - dt.timedelta(days=1), now)
    assert (nothing.pings, nothing.p50_ms, nothing.bid_rate, nothing.return_rate) == (
        0,
        None,
        None,
        None,
    )


def test_the_range_is_checked_like_the_reports(market: Market) -> None:
    market.apply(marketplace([posting("http://127.0.0.1:9/post", "rich", "9.00")]))
    path = "/api/v1/admin/buyers/rich/scorecard"
    for params, loc in [
        ({"period": "week"}, ["query", "period"]),
        ({"from": "2026-11-20T00:00:00Z"}, ["query", "to"]),
        ({"from": "2026-11-20T00:00:00Z", "to": "2026-11-19T00:00:00Z"}, ["query", "to"]),
        ({"period": "today", "to": "2026-11-19T00:00:00Z"}, ["query", "period"]),
        ({"tz": "Mars/Olympus"}, ["query", "tz"]),
    ]:
        answer = market.http.get(path, params=params, headers=market.admin)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["detail"][0]["loc"] == loc, answer.text
    today = market.http.get(path, params={"period": "today"}, headers=market.admin)
    assert today.status_code == 200
    assert today.json()["start"].startswith("2026-11-23T00:00:00")
    assert today.json()["pings"] == 0
    assert market.http.get(path, headers=market.seller()).status_code == 403


def _approved_return(sale: dict[str, Any], lead_id: str) -> dict[str, Any]:
    at = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    return {
        "id": str(uuid.uuid4()),
        "sale_id": sale["id"],
        "lead_id": lead_id,
        "buyer_id": sale["buyer_id"],
        "order_id": sale["order_id"],
        "campaign_id": "acme_auto",
        "supplier_id": "acme",
        "reason": "bad_number",
        "comment": "",
        "status": "approved",
        "requested_by": "user:x",
        "requested_at": at,
        "decided_by": "user:y",
        "decided_at": at,
        "decision_note": "",
        "credit_cents": 3500,
        "chargeback_cents": 0,
    }


def _disposition(
    sale: dict[str, Any], lead_id: str, code: str, value_cents: int | None
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lead_id": lead_id,
        "sale_id": sale["id"],
        "buyer_id": sale["buyer_id"],
        "order_id": sale["order_id"],
        "campaign_id": "acme_auto",
        "supplier_id": "acme",
        "vertical_id": "auto",
        "test": False,
        "code": code,
        "value_cents": value_cents,
        "note": "",
        "reported_by": "user:x",
        "reported_at": dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC),
    }
