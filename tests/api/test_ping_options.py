"""A ping is rejected by each of the campaign's ping options, with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.market import PING, Market, buyer, campaign, marketplace, order


def _with(market: Market, ping_options: dict[str, Any], **campaign_spec: Any) -> None:
    market.apply(
        marketplace(
            [buyer("shield", order("shield_fl", "10.00")), buyer("acorn", order("acorn", "8.00"))],
            [campaign(ping_options=ping_options, **campaign_spec)],
        )
    )


@pytest.mark.parametrize(
    ("options", "campaign_spec", "reason"),
    [
        ({"min_revenue": "10.01"}, {}, "below_min_revenue"),
        ({"min_profit": "3.01"}, {}, "below_min_profit"),
        ({"min_profit_percent": 31}, {}, "below_min_profit_percent"),
        ({"min_buyers": 3}, {}, "too_few_buyers"),
        ({"required_fields": ["credit", "insured"]}, {}, "missing_required_fields"),
        # a fixed payout above the revenue would be a sale at a loss
        ({}, {"payout": {"model": "fixed", "amount": "10.50"}}, "below_min_profit"),
    ],
)
def test_each_ping_option_rejects(
    market: Market, options: dict[str, Any], campaign_spec: dict[str, Any], reason: str
) -> None:
    _with(market, options, **campaign_spec)
    answer = market.ping()
    assert answer["status"] == "rejected"
    assert reason in answer["reasons"]


def test_the_same_options_pass_when_met(market: Market) -> None:
    _with(
        market,
        {
            "min_revenue": "10.00",
            "min_profit": "3.00",
            "min_profit_percent": 30,
            "min_buyers": 2,
            "required_fields": ["credit"],
        },
    )
    assert market.ping()["status"] == "accepted"


def test_qualify_all_criteria_fails_filters_on_absent_fields(market: Market) -> None:
    credit_filter = {"all": [{"field": "credit", "op": "in", "value": ["excellent", "good"]}]}
    without_credit = {k: v for k, v in PING.items() if k != "credit"}
    for qualify_all, expected in ((False, "accepted"), (True, "rejected")):
        market.apply(
            marketplace(
                [buyer("shield", order("shield_fl", "10.00", filters=credit_filter))],
                [campaign(ping_options={"qualify_all_criteria": qualify_all})],
            )
        )
        assert market.ping(without_credit)["status"] == expected


def test_pii_in_a_ping_is_refused(market: Market) -> None:
    _with(market, {})
    answer = market.ping({**PING, "phone": "305-555-0142"})
    assert answer == {
        "status": "rejected",
        "ping_id": answer["ping_id"],
        "reasons": ["pii_in_ping"],
    }
    # nor is a phone number hidden in a non-PII field accepted
    assert market.ping({**PING, "credit": "good", "zip": "33101"})["status"] == "accepted"
    stored = market.ping_trace(answer["ping_id"])
    assert "phone" not in stored["fields"]


def test_inactive_campaign(market: Market) -> None:
    _with(market, {}, active=False)
    assert market.ping()["reasons"] == ["campaign_inactive"]


def test_rank_by_priority_prefers_the_first_tier(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("cheap_first", order("tier1", "9.00", priority=1)),
                buyer("rich_later", order("tier2", "50.00", priority=2)),
            ],
            [campaign(rank_by="priority")],
        )
    )
    assert market.ping()["bid"] == "6.30"
