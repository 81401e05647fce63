"""Live bids through the real HTTP API: ``bid`` orders pinged over HTTP at mock buyers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pingtree.bootstrap import start_runtime
from pingtree.mockbuyer import MockBuyer
from tests.api.conftest import market_settings
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers

BUYERS: dict[str, dict[str, Any]] = {
    "rich": {"bid": {"kind": "fixed", "amount": "35.00"}, "bid_format": "string"},
    "cheap": {"bid": {"kind": "fixed", "amount": "4.00"}},
    "dead": {"misbehaviour": {"kind": "hang", "on": "ping"}},
    **{f"b{i}": {"bid": {"kind": "fixed", "amount": f"{10 + i}.00"}} for i in range(19)},
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def live_order(mock: MockBuyer, name: str, timeout_ms: int = 250, **ping: Any) -> dict[str, Any]:
    """A ``bid`` order whose ping goes to the mock endpoint ``name`` with zip and state;
    ``ping`` adds keys to its ping step (``auth``…)."""
    delivery = {
        "ping": {
            **ping,
            "url": mock.ping_url(name),
            "content_type": "json",
            "timeout_ms": timeout_ms,
            "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "state", "to": "state"}]},
            "response": {
                "accepted": {"json": "$.status", "equals": ["success"]},
                "bid": {"json": "$.price"},
                "token": {"json": "$.ping_id"},
                "reason": {"json": "$.reason"},
            },
        },
        "post": {
            "same_as": "ping",
            "url": mock.post_url(name),
            "timeout_ms": 2000,
            "body": {
                "fields": [
                    {"from": "token", "to": "ping_id"},
                    {"from": "zip", "to": "zip"},
                    {"from": "first_name", "to": "first_name"},
                    {"from": "phone", "to": "phone"},
                    {"from": "email", "to": "email"},
                ]
            },
        },
    }
    return order(f"{name}_live", None, pricing={"type": "bid"}, delivery=delivery)


def candidates(market: Market, ping_id: str) -> dict[str, dict[str, Any]]:
    rows = market.ping_trace(ping_id)["auction"]["candidates"]
    return {row["order_id"]: row for row in rows}


def test_a_live_bid_beating_the_fixed_prices_wins_the_ping(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "25.00")),
                buyer("acorn", order("acorn_all", "18.00")),
                buyer("rich", live_order(mock, "rich")),
                buyer("cheap", live_order(mock, "cheap")),
            ]
        )
    )
    pinged = market.ping()
    assert pinged["status"] == "accepted"
    # the seller is told its payout on the live price: 70 % of 35.00
    assert pinged["bid"] == "24.50"
    rows = candidates(market, pinged["ping_id"])
    assert (rows["rich_live"]["outcome"], rows["rich_live"]["price"]) == ("bid", "35.00")
    assert (rows["cheap_live"]["outcome"], rows["cheap_live"]["price"]) == ("bid", "4.00")
    assert 0 <= rows["rich_live"]["latency_ms"] < 250
    assert rows["shield_fl"]["outcome"] == "fixed"
    assert market.ping_trace(pinged["ping_id"])["auction"]["winners"] == ["rich_live"]


def test_twenty_buyers_one_dead_the_ping_answers_by_its_deadline(market: Market, mock: MockBuyer):
    names = [f"b{i}" for i in range(19)] + ["dead"]
    market.apply(
        marketplace(
            [buyer(name, live_order(mock, name)) for name in names],
            [campaign(ping_deadline_ms=300)],
        )
    )
    timings = []
    for _ in range(3):
        started = time.monotonic()
        pinged = market.ping()
        timings.append(time.monotonic() - started)
        assert pinged["status"] == "accepted"
        # the best live bid (b18: 28.00) wins, 70 % of it paid out
        assert pinged["bid"] == "19.60"
    assert max(timings) < 1.0, timings
    rows = candidates(market, pinged["ping_id"])
    assert rows["dead_live"]["outcome"] == "timeout"
    assert 200 <= rows["dead_live"]["latency_ms"] <= 400
    assert {rows[f"b{i}_live"]["outcome"] for i in range(19)} == {"bid"}


def test_no_pii_byte_in_any_ping_request(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [
                buyer("rich", live_order(mock, "rich")),
                buyer("cheap", live_order(mock, "cheap")),
            ]
        )
    )
    mock.reset()
    pinged = market.ping()
    assert pinged["status"] == "accepted"
    market.post(pinged["ping_id"])  # whatever it delivers, only pings are checked here
    # a direct post prices the lead with live bids too: only non-PII fields may go out
    market.direct_post()
    pings = [r for r in list(mock.requests) if r.kind == "ping"]
    assert len(pings) >= 4
    pii = [
        CONTACT["first_name"],
        CONTACT["phone"],
        "3055550142",
        "555-0142",
        "5550142",
        CONTACT["email"],
        CONTACT["email"].lower(),
    ]
    for request in pings:
        sent = (
            " ".join([request.path, request.query_string, *request.headers.values()]).encode()
            + request.body
        )
        for value in pii:
            assert value.encode() not in sent, (value, request.path)
            assert value.lower().encode() not in sent.lower(), (value, request.path)
    # what a ping does carry: the non-PII fields the step maps
    assert pings[0].body == f'{{"zip":"{PING["zip"]}","state":"{PING["state"]}"}}'.encode()


def test_a_buyer_slower_than_the_deadline_is_cut_off_at_it(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "25.00")),
                buyer("dead", live_order(mock, "dead", timeout_ms=5000)),
            ],
            [campaign(ping_deadline_ms=300)],
        )
    )
    started = time.monotonic()
    pinged = market.ping()
    assert time.monotonic() - started < 1.0
    assert pinged["bid"] == "17.50"
    assert candidates(market, pinged["ping_id"])["dead_live"]["outcome"] == "timeout"


def test_buyer_secrets_come_from_the_environment(
    market: Market, mock: MockBuyer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PINGTREE_SECRET_RICH_TOKEN", "rich-123")
    monkeypatch.delenv("PINGTREE_SECRET_CHEAP_TOKEN", raising=False)
    market.apply(
        marketplace(
            [
                buyer(
                    "rich",
                    live_order(
                        mock, "rich", auth={"type": "bearer", "token": {"secret": "rich-token"}}
                    ),
                ),
                buyer(
                    "cheap",
                    live_order(
                        mock, "cheap", auth={"type": "bearer", "token": {"secret": "cheap.token"}}
                    ),
                ),
                # the server's own key is never a buyer credential
                buyer(
                    "key",
                    live_order(mock, "b0", auth={"type": "bearer", "token": {"secret": "key"}}),
                ),
            ]
        )
    )
    mock.reset()
    pinged = market.ping()
    rows = candidates(market, pinged["ping_id"])
    assert rows["rich_live"]["outcome"] == "bid"
    assert rows["cheap_live"]["outcome"] == "error"
    assert rows["cheap_live"]["reason"] == (
        "secret cheap.token is not set "
        "(pingtree secret set cheap.token, or PINGTREE_SECRET_CHEAP_TOKEN)"
    )
    assert rows["b0_live"]["outcome"] == "error"
    assert rows["b0_live"]["reason"].startswith("secret key is reserved")
    (sent,) = [r for r in mock.requests if r.kind == "ping"]
    assert sent.headers["Authorization"] == "Bearer rich-123"


def _attempts_of(market: Market, ping_id: str, count: int) -> list[dict[str, Any]]:
    """The ping's delivery attempts, once the batching writer has stored ``count``."""
    for _ in range(100):
        attempts: list[dict[str, Any]] = market.ping_trace(ping_id)["attempts"]
        if len(attempts) >= count:
            return attempts
        time.sleep(0.05)
    raise AssertionError(f"{count} attempts of ping {ping_id} never appeared")


def test_every_buyer_ping_is_in_the_delivery_log(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [
                buyer("rich", live_order(mock, "rich")),
                buyer("dead", live_order(mock, "dead")),
            ],
            [campaign(ping_deadline_ms=300)],
        )
    )
    pinged = market.ping()
    attempts = {a["order_id"]: a for a in _attempts_of(market, pinged["ping_id"], 2)}
    rich, dead = attempts["rich_live"], attempts["dead_live"]
    assert (rich["kind"], rich["outcome"], rich["status"]) == ("ping", "bid", 200)
    assert rich["request_body"] == f'{{"zip":"{PING["zip"]}","state":"{PING["state"]}"}}'
    assert rich["parsed"]["bid"] == "35.00"
    assert rich["parsed"]["token"] in rich["response_body"]
    assert (dead["outcome"], dead["status"]) == ("timeout", None)
    listed = market.http.get(
        "/api/v1/admin/attempts", headers=market.admin, params={"outcome": "timeout"}
    ).json()
    assert [a["order_id"] for a in listed] == ["dead_live"]


def test_an_operator_tests_a_buyer_through_the_admin_api(market: Market, mock: MockBuyer):
    market.apply(marketplace([buyer("rich", live_order(mock, "rich"))]))
    response = market.http.post(
        "/api/v1/admin/orders/rich_live/test",
        headers=market.admin,
        json={"zip": "10001"},
        params={"post": "true"},
    )
    assert response.status_code == 200, response.text
    ping, post = response.json()
    assert ping["request"]["body"] == '{"zip":"10001","state":"FL"}'
    assert (ping["parsed"]["accepted"], ping["parsed"]["bid"]) == (True, "35.00")
    assert post["request"]["url"] == mock.post_url("rich")
    assert ping["parsed"]["token"] in post["request"]["body"]
    assert post["parsed"]["accepted"] is True
    bad = market.http.post(
        "/api/v1/admin/orders/rich_live/test", headers=market.admin, json={"zip": "nope"}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["fields", "zip"]
    missing = market.http.post("/api/v1/admin/orders/nope/test", headers=market.admin, json={})
    assert missing.status_code == 404


def test_testing_a_buyer_never_shows_its_credentials(
    market: Market, mock: MockBuyer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PINGTREE_SECRET_RICH_KEY", "s3cr3t-value")
    auth = {"type": "query", "name": "key", "value": {"secret": "rich_key"}}
    market.apply(marketplace([buyer("rich", live_order(mock, "rich", auth=auth))]))
    mock.reset()
    shown = market.http.post(
        "/api/v1/admin/orders/rich_live/test", headers=market.admin, json={}
    ).text
    (sent,) = mock.requests_to("rich", "ping")
    assert "s3cr3t-value" in sent.query_string  # the buyer got it
    assert "s3cr3t-value" not in shown  # the operator does not see it


def test_a_seller_may_ask_for_a_shorter_deadline(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "25.00")),
                buyer("dead", live_order(mock, "dead", timeout_ms=5000)),
            ],
            [campaign(ping_deadline_ms=3000)],
        )
    )
    started = time.monotonic()
    pinged = market.ping(tmax_ms=200)
    assert time.monotonic() - started < 1.0
    assert pinged["bid"] == "17.50"
    assert candidates(market, pinged["ping_id"])["dead_live"]["outcome"] == "timeout"


def test_a_stored_secret_reaches_the_buyer_and_is_never_shown(market: Market, mock: MockBuyer):
    stored = market.http.put(
        "/api/v1/admin/secrets/rich_token", headers=market.admin, json={"value": "s3cr3t-tok"}
    )
    assert stored.status_code == 204, stored.text
    bad = market.http.put(
        "/api/v1/admin/secrets/bad name", headers=market.admin, json={"value": "x"}
    )
    assert bad.status_code == 422
    listed = market.http.get("/api/v1/admin/secrets", headers=market.admin).json()
    assert [s["name"] for s in listed] == ["rich_token"]
    assert "s3cr3t" not in str(listed)
    market.apply(
        marketplace(
            [
                buyer(
                    "rich",
                    live_order(
                        mock, "rich", auth={"type": "bearer", "token": {"secret": "rich_token"}}
                    ),
                )
            ]
        )
    )
    assert "s3cr3t" not in market.http.get("/api/v1/admin/config", headers=market.admin).text
    mock.reset()
    for _ in range(50):  # workers pick a new secret up within a second
        pinged = market.ping()
        if pinged["status"] == "accepted":
            break
        time.sleep(0.05)
    assert pinged["bid"] == "24.50"
    (request,) = mock.requests_to("rich", "ping")
    assert request.headers["Authorization"] == "Bearer s3cr3t-tok"
    logged = _attempts_of(market, pinged["ping_id"], 1)
    assert "s3cr3t" not in str(logged)


def test_the_buyers_token_goes_back_in_the_post_of_the_lead(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [buyer("shield", order("shield_fl", "25.00")), buyer("rich", live_order(mock, "rich"))]
        )
    )
    mock.reset()
    pinged = market.ping()
    answer = market.post(pinged["ping_id"])
    assert (answer["status"], answer["price"]) == ("sold", "24.50")
    (post,) = mock.requests_to("rich", "post")
    token = market.ping_trace(pinged["ping_id"])["auction"]["tokens"]["rich_live"]
    # the mock buyer takes a post only with a token its own ping issued
    assert json.loads(post.body)["ping_id"] == token
    assert token in mock.tokens("rich")


def test_the_buyer_pool_takes_its_bounds_from_the_settings(tmp_path):
    settings = market_settings(tmp_path).model_copy(
        update={"outbound_connections": 64, "outbound_connections_per_host": 3}
    )

    async def bounds() -> tuple[int, int]:
        runtime = await start_runtime(settings)
        try:
            return runtime.ports.http.limit, runtime.ports.http.limit_per_host
        finally:
            await runtime.close()

    assert asyncio.run(bounds()) == (64, 3)
