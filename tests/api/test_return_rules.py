"""Return rules over HTTP: a buyer whose leads come back too often is paused (outcome
``return_rate`` in the trace) or ranked lower (said on its priced line); a supplier whose
leads come back too often has its campaigns paused (``return_rate_over_limit``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import yaml

from tests.api.market import Market, buyer, campaign, marketplace, order


def _returned(market: Market, lead_id: str) -> None:
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


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """The rates are counted every 0.2 s in these tests: wait for the next count."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the return rates were not counted again in time"
        time.sleep(0.1)


def _two_buyers(rule: dict[str, Any]) -> dict[str, Any]:
    return marketplace(
        [
            buyer("acme", order("acme_fl", "20.00"), return_rule=rule),
            buyer("other", order("other_fl", "5.00")),
        ],
        [campaign(payout={"model": "revenue_share", "percent": 50})],
    )


def test_a_buyer_returning_too_many_leads_is_paused_and_the_trace_says_why(
    market: Market,
) -> None:
    market.apply(_two_buyers({"max_rate": 40, "min_sales": 2}))
    leads = [market.sell()["lead_id"] for _ in range(2)]
    _returned(market, leads[0])
    # one of two returned: 50% over its 40% limit

    def paused() -> bool:
        pinged = market.ping()
        return market.outcomes(pinged["ping_id"])["acme_fl"][0] == "return_rate"

    _eventually(paused)
    pinged = market.ping()
    outcomes = market.outcomes(pinged["ping_id"])
    assert outcomes["acme_fl"] == ("return_rate", "paused: return rate over the buyer's limit")
    assert outcomes["other_fl"][0] == "fixed"
    assert pinged["status"] == "accepted"  # the other buyer buys meanwhile


def test_a_demoted_buyer_ranks_after_a_cheaper_one(market: Market) -> None:
    config = _two_buyers({"max_rate": 10, "min_sales": 1, "action": "demote", "demote_by": 50})
    config["suppliers"][0]["campaigns"][0]["rank_by"] = "priority"
    market.apply(config)
    _returned(market, market.sell()["lead_id"])

    def demoted() -> bool:
        return "ranked 50 lower" in market.outcomes(market.ping()["ping_id"])["acme_fl"][1]

    _eventually(demoted)
    pinged = market.ping()
    outcome, reason = market.outcomes(pinged["ping_id"])["acme_fl"]
    assert outcome == "fixed"
    assert reason.endswith("ranked 50 lower: return rate 100.0% over 30 days (limit 10%)")
    sold = market.post(pinged["ping_id"])
    assert sold["status"] == "sold"
    lead = market.lead(sold["lead_id"])
    assert [sale["buyer_id"] for sale in lead["sales"]] == ["other"]


def test_a_supplier_whose_leads_come_back_too_often_is_paused(market: Market) -> None:
    config = marketplace(
        [buyer("acme", order("acme_fl", "20.00"))],
        [campaign(payout={"model": "revenue_share", "percent": 50})],
    )
    config["suppliers"][0]["return_rule"] = {"max_rate": 50, "min_sales": 1}
    market.apply(config)
    _returned(market, market.sell()["lead_id"])

    _eventually(lambda: market.ping().get("reasons") == ["return_rate_over_limit"])
    assert market.direct_post()["reasons"] == ["return_rate_over_limit"]


def test_a_supplier_rule_cannot_demote(market: Market) -> None:
    config = marketplace([buyer("acme", order("acme_fl"))])
    config["suppliers"][0]["return_rule"] = {"max_rate": 150, "action": "demote"}
    response = market.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(config),
        headers=market.admin,
    )
    assert response.status_code == 422
    messages = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert messages[("body", "suppliers[0].return_rule.action")] == (
        "a supplier's rule can only pause it"
    )
    assert messages[("body", "suppliers[0].return_rule.max_rate")].startswith("must be a percent")
