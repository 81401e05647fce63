"""Win and loss notices (``delivery.notices``, OpenRTB's nurl and lurl) over real HTTP:
live bid orders pinged at mock buyers, their notice URLs pointed at mock endpoints that
record what they get."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, marketplace, order
from tests.support.buyers import running_buyers

BUYERS: dict[str, dict[str, Any]] = {
    "rich": {"bid": {"kind": "fixed", "amount": "35.00"}},
    "cheap": {"bid": {"kind": "fixed", "amount": "12.50"}},
    # where the notices go: each records the query it was called with
    "won": {},
    "lost": {},
    "stuck": {"misbehaviour": {"kind": "hang", "on": "ping"}},
}
MACROS = "ping={ping_id}&price={price}&why={reason}"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def live_order(mock: MockBuyer, name: str, notices: dict[str, Any]) -> dict[str, Any]:
    """A ``bid`` order pinged at the mock endpoint ``name``, with these ``notices``."""
    ping = {
        "url": mock.ping_url(name),
        "content_type": "json",
        "timeout_ms": 250,
        "body": {"fields": [{"from": "zip", "to": "zip"}]},
        "response": {
            "accepted": {"json": "$.status", "equals": ["success"]},
            "bid": {"json": "$.price"},
        },
    }
    post = {
        "same_as": "ping",
        "url": mock.post_url(name),
        "response": {"accepted": {"status": [200]}},
    }
    delivery = {"ping": ping, "post": post, "notices": notices}
    return order(f"{name}_live", None, pricing={"type": "bid"}, delivery=delivery)


def noticed(mock: MockBuyer, name: str, timeout_ms: int = 1000) -> dict[str, Any]:
    """A live bid order of ``name`` with win notices to ``won`` and loss notices to
    ``lost`` (the mock's ping paths: the notice's answer is not read)."""
    notices = {
        "win": f"{mock.ping_url('won')}?order={name}&{MACROS}",
        "loss": f"{mock.ping_url('lost')}?order={name}&{MACROS}",
        "timeout_ms": timeout_ms,
    }
    return live_order(mock, name, notices=notices)


def queries(mock: MockBuyer, name: str, count: int) -> list[dict[str, list[str]]]:
    """The queries ``name`` was called with, once it has had ``count``."""
    for _ in range(100):
        received = mock.requests_to(name)
        if len(received) >= count:
            return [parse_qs(r.query_string, keep_blank_values=True) for r in received]
        time.sleep(0.05)
    raise AssertionError(f"{name} never got {count} notices")


def notice_attempts(market: Market, ping_id: str, count: int) -> list[dict[str, Any]]:
    for _ in range(100):
        attempts = market.ping_trace(ping_id)["attempts"]
        notices = [a for a in attempts if a["kind"] == "notice"]
        if len(notices) >= count:
            return notices
        time.sleep(0.05)
    raise AssertionError(f"{count} notices of ping {ping_id} never logged")


def test_the_winner_and_the_loser_are_told_with_the_right_values(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(
        marketplace([buyer("rich", noticed(mock, "rich")), buyer("cheap", noticed(mock, "cheap"))])
    )
    mock.reset()
    pinged = market.ping()
    assert pinged["status"] == "accepted", pinged
    ping_id = pinged["ping_id"]
    (win,) = queries(mock, "won", 1)
    (loss,) = queries(mock, "lost", 1)
    assert win == {"order": ["rich"], "ping": [ping_id], "price": ["35.00"], "why": [""]}
    # the loser learns the price it had to beat and why it lost
    assert loss == {"order": ["cheap"], "ping": [ping_id], "price": ["35.00"], "why": ["outbid"]}
    logged = {a["order_id"]: a for a in notice_attempts(market, ping_id, 2)}
    assert (logged["rich_live"]["outcome"], logged["rich_live"]["status"]) == ("accepted", 200)
    assert logged["rich_live"]["parsed"] == {"notice": "win"}
    assert logged["cheap_live"]["parsed"] == {"notice": "loss"}
    assert logged["cheap_live"]["method"] == "GET"


def test_a_hanging_notice_url_does_not_hold_the_pings_answer(
    market: Market, mock: MockBuyer
) -> None:
    stuck = live_order(
        mock,
        "rich",
        notices={"win": f"{mock.ping_url('stuck')}?{MACROS}", "timeout_ms": 1000},
    )
    market.apply(marketplace([buyer("rich", stuck)]))
    mock.reset()
    pinged = market.ping()
    assert pinged["status"] == "accepted", pinged
    # answered while the notice was still waiting: nothing logged for it yet
    assert [
        a for a in market.ping_trace(pinged["ping_id"])["attempts"] if a["kind"] == "notice"
    ] == []
    (logged,) = notice_attempts(market, pinged["ping_id"], 1)
    assert logged["outcome"] == "timeout"
    assert logged["duration_ms"] >= 900  # it waited for its timeout
    assert len(mock.requests_to("stuck")) == 1  # sent once, never retried


def test_a_notice_url_with_another_macro_is_refused(market: Market, mock: MockBuyer) -> None:
    bad = live_order(mock, "rich", notices={"win": f"{mock.ping_url('won')}?e={{email}}"})
    answer = market.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(marketplace([buyer("rich", bad)])),
        headers={**market.admin, "content-type": "application/yaml"},
    )
    assert answer.status_code == 422, answer.text
    assert "notices.win" in answer.text
    assert "unknown macro {email}" in answer.text
