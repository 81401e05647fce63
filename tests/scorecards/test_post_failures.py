"""The buyers' report counts a buyer's post-side failures (issue 14): a real mock buyer
answering posts 503 four times, then timing out, shows 4 errors and 1 timeout."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from pingtree.mockbuyer import EndpointConfig
from tests.api.market import Market, buyer, marketplace, order
from tests.support.buyers import running_buyers

_TAKES = {"check_token": False}


def posting(post_url: str, name: str, price: str, **post: Any) -> dict[str, Any]:
    """A fixed-price order of buyer ``name`` whose leads are posted to ``post_url``."""
    step = {
        "url": post_url,
        "content_type": "json",
        "timeout_ms": 300,
        "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "email", "to": "email"}]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
        **post,
    }
    return buyer(name, order(f"{name}_fixed", price, delivery={"post": step}))


def post_rows(market: Market, buyer_id: str, attempts: int) -> dict[str | None, dict[str, Any]]:
    """The buyers' report's post rows of ``buyer_id`` (by order id, ``None`` for the buyer's
    own), once the delivery log holds ``attempts`` of its posts (it is written in batches).
    The attempts are timed by the wall clock, not the test's frozen one."""
    now = dt.datetime.now(dt.UTC)
    params = {
        "from": (now - dt.timedelta(days=1)).isoformat(),
        "to": (now + dt.timedelta(days=1)).isoformat(),
    }
    give_up = time.monotonic() + 10
    while True:
        answer = market.http.get(
            "/api/v1/admin/reports/buyers", params=params, headers=market.admin
        )
        assert answer.status_code == 200, answer.text
        rows = {
            r["order_id"]: r
            for r in answer.json()["rows"]
            if (r["buyer_id"], r["kind"]) == (buyer_id, "post")
        }
        done = rows.get(None, {}).get("attempts", 0) >= attempts
        if done or time.monotonic() > give_up:
            return rows
        time.sleep(0.05)


def test_a_buyers_503s_and_post_timeout_are_its_errors_and_timeouts(market: Market) -> None:
    endpoints: dict[str, dict[str, Any]] = {
        "flaky": {**_TAKES, "misbehaviour": {"kind": "error", "status": 503, "on": "post"}},
        "taker": _TAKES,
    }
    with running_buyers(endpoints) as mock:
        market.apply(
            marketplace(
                [
                    posting(mock.post_url("flaky"), "flaky", "30.00", retries=3),
                    posting(mock.post_url("taker"), "taker", "20.00"),
                ]
            )
        )
        # four 503s (the first try and three retries), then the lead falls to the taker
        assert market.sell()["status"] == "sold"
        assert len(mock.requests_to("flaky", "post")) == 4
        # now the flaky buyer reads the post and never answers: a timeout, held as unknown
        mock.configure(
            "flaky",
            EndpointConfig.model_validate(
                {**_TAKES, "misbehaviour": {"kind": "hang", "on": "post"}}
            ),
        )
        assert market.sell()["status"] == "pending"
        assert len(mock.requests_to("flaky", "post")) == 5

        rows = post_rows(market, "flaky", 5)
    for row in (rows[None], rows["flaky_fixed"]):
        assert (row["attempts"], row["errors"], row["timeouts"]) == (5, 4, 1), row
        assert (row["error_rate"], row["timeout_rate"]) == (0.8, 0.2)
    taker = post_rows(market, "taker", 1)[None]
    assert (taker["attempts"], taker["errors"], taker["timeouts"]) == (1, 0, 0)
