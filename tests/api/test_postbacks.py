"""Conversion postbacks to a real tracker on loopback (``tests.support.tracker``): the
campaign's URL template with its macros percent-encoded, on the lead's final answer and on
an approved return, retried when the tracker fails, never when it refuses, logged on the
lead; a template with an unknown macro is refused at apply time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from pingtree.mockbuyer import MockBuyer
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.api.test_post_delivery import BUYERS, posting
from tests.support.buyers import running_buyers
from tests.support.tracker import Tracker, running_tracker

TEMPLATE = (
    "/cb?click={click_id}&sub={sub_id}&s2={sub_id2}&payout={payout}&status={status}"
    "&lead={lead_id}&c={campaign_id}"
)


FLORIDA = {"all": [{"field": "state", "op": "in", "value": ["FL"]}]}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def apply(market: Market, mock: MockBuyer, tracker: Tracker, name: str = "taker", **more: Any):
    market.apply(
        marketplace(
            [posting(mock, name, "30.00")],
            [campaign(postback_url=tracker.url + TEMPLATE, **more)],
        )
    )


def sell(market: Market, tracking: dict[str, str]) -> dict[str, Any]:
    pinged = market.ping({**PING, **tracking})
    assert pinged["status"] == "accepted", pinged
    return market.post(pinged["ping_id"], {**PING, **CONTACT, **tracking})


def postbacks(market: Market, lead_id: str, count: int) -> list[dict[str, Any]]:
    """The lead's postbacks once ``count`` of them are done (sent or failed)."""
    give_up = time.monotonic() + 20
    while True:
        rows = market.lead(lead_id)["postbacks"]
        done = [row for row in rows if row["status"] in ("sent", "failed")]
        if len(done) >= count:
            return list(rows)
        assert time.monotonic() < give_up, rows
        time.sleep(0.05)


def test_a_sold_lead_is_posted_back_with_its_macros_encoded(market: Market, mock: MockBuyer):
    with running_tracker() as tracker:
        apply(market, mock, tracker)
        answer = sell(market, {"click_id": "a b&c=d", "sub_id": "pub/1"})
        assert answer["status"] == "sold", answer
        (heard,) = tracker.wait_for(1)
    assert (heard.method, heard.path, heard.body) == ("GET", "/cb", b"")
    # the payout (70 % of 30.00), never the buyer's price; each value one parameter
    assert heard.query == {
        "click": "a b&c=d",
        "sub": "pub/1",
        "s2": "",
        "payout": "21.00",
        "status": "sold",
        "lead": answer["lead_id"],
        "c": "acme_auto",
    }
    (row,) = postbacks(market, answer["lead_id"], 1)
    assert (row["event"], row["status"], row["tries"], row["method"]) == ("sold", "sent", 1, "GET")
    assert "click=a%20b%26c%3Dd" in row["url"]
    (attempt,) = row["attempts"]
    assert (attempt["status"], attempt["error"]) == (200, "")
    assert attempt["duration_ms"] >= 0


def test_an_approved_return_is_posted_back_with_the_chargeback(market: Market, mock: MockBuyer):
    with running_tracker() as tracker:
        apply(market, mock, tracker)
        lead_id = sell(market, {"click_id": "c-9"})["lead_id"]
        tracker.wait_for(1)
        asked = market.http.post(
            "/api/v1/admin/returns",
            json={"lead_id": lead_id, "reason": "wrong_number"},
            headers=market.admin,
        )
        assert asked.status_code == 201, asked.text
        approved = market.http.post(
            f"/api/v1/admin/returns/{asked.json()['id']}/approve", headers=market.admin
        )
        assert approved.status_code == 200, approved.text
        _, returned = tracker.wait_for(2)
    assert (returned.query["status"], returned.query["payout"], returned.query["click"]) == (
        "returned",
        "21.00",  # the payout charged back
        "c-9",
    )
    rows = postbacks(market, lead_id, 2)
    assert [(row["event"], row["status"]) for row in rows] == [
        ("sold", "sent"),
        ("returned", "sent"),
    ]


def test_a_rejected_lead_is_posted_back_with_no_payout(market: Market, mock: MockBuyer):
    with running_tracker() as tracker:
        apply(market, mock, tracker, name="refuser")
        answer = sell(market, {"click_id": "c-1"})
        assert answer["status"] == "rejected", answer
        (heard,) = tracker.wait_for(1)
    assert (heard.query["status"], heard.query["payout"]) == ("rejected", "0.00")


def test_a_failing_tracker_is_tried_again_until_it_answers(market: Market, mock: MockBuyer):
    with running_tracker([503, 502]) as tracker:
        apply(market, mock, tracker)
        lead_id = sell(market, {"click_id": "c-2"})["lead_id"]
        heard = tracker.wait_for(3)
    assert [h.status for h in heard] == [503, 502, 200]
    (row,) = postbacks(market, lead_id, 1)
    assert (row["status"], row["tries"]) == ("sent", 3)
    assert [a["status"] for a in row["attempts"]] == [503, 502, 200]


def test_a_refusal_is_not_tried_again(market: Market, mock: MockBuyer):
    with running_tracker([404]) as tracker:
        apply(market, mock, tracker)
        lead_id = sell(market, {"click_id": "c-3"})["lead_id"]
        (row,) = postbacks(market, lead_id, 1)
        time.sleep(1.5)  # a worker's sweep or two: nothing more
        assert len(tracker.heard) == 1
    assert (row["status"], row["tries"], row["attempts"][0]["status"]) == ("failed", 1, 404)


def test_post_sends_the_answer_too(market: Market, mock: MockBuyer):
    with running_tracker() as tracker:
        apply(market, mock, tracker, postback_method="POST")
        answer = sell(market, {})
        (heard,) = tracker.wait_for(1)
    assert heard.method == "POST"
    assert yaml.safe_load(heard.body) == {**answer, "price": "21.00"}


def test_an_unknown_macro_is_refused_at_apply(market: Market) -> None:
    spec = marketplace([], [campaign(postback_url="https://t.example/cb?x={clickid}&p={payout}")])
    response = market.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(spec),
        headers={**market.admin, "content-type": "application/yaml"},
    )
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"][-1] == "suppliers[0].campaigns[0].postback_url"
    assert "{clickid}" in problem["msg"]


def test_a_lead_answered_at_once_is_posted_back_too(market: Market) -> None:
    """Sold to a buyer with no post step, and refused for want of a buyer: each final
    answer given with the post has its postback."""
    with running_tracker() as tracker:
        template = tracker.url + TEMPLATE
        market.apply(
            marketplace(
                [buyer("shield", order("shield_fl", "25.00", filters=FLORIDA))],
                [campaign(postback_url=template)],
            )
        )
        sold = sell(market, {"click_id": "now-1"})
        assert sold["status"] == "sold", sold
        refused = market.direct_post({**PING, **CONTACT, "state": "WA", "zip": "98101"})
        assert refused["status"] == "rejected", refused
        heard = tracker.wait_for(2)
    by_lead = {h.query["lead"]: h.query for h in heard}
    assert (by_lead[sold["lead_id"]]["status"], by_lead[sold["lead_id"]]["payout"]) == (
        "sold",
        "17.50",
    )
    assert by_lead[sold["lead_id"]]["click"] == "now-1"
    assert (by_lead[refused["lead_id"]]["status"], by_lead[refused["lead_id"]]["payout"]) == (
        "rejected",
        "0.00",
    )
