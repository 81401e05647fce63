"""The quality steps before the auction, over HTTP on a real server: a suppressed phone's
post is rejected with ``suppressed`` (or flagged and sold), an order taking mobiles only
never buys a landline, and each step's result is in the lead and its trace."""

from __future__ import annotations

import copy
from typing import Any

from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order

MOBILE_ONLY = {"all": [{"field": "phone.line_type", "op": "in", "value": ["mobile"]}]}
#: a UK number read in a text field (the vertical's ``phone`` is US-only)
UK_MOBILE, UK_LANDLINE = "07911 123456", "020 7183 8750"


def _market(market: Market, steps: list[dict[str, Any]], *orders: dict[str, Any]) -> dict[str, Any]:
    config = marketplace(
        [buyer("shield", *(orders or (order("shield_all", "10.00"),)))],
        [campaign(steps=steps)],
    )
    vertical = config["verticals"][0]
    vertical["fields"] = [
        *copy.deepcopy(vertical["fields"]),
        {"name": "uk_phone", "type": "string", "pii": True},
    ]
    return market.apply(config)


def _upload(market: Market, list_id: str, csv_text: str) -> dict[str, Any]:
    response = market.http.post(
        f"/api/v1/admin/suppression/{list_id}",
        content=csv_text.encode(),
        headers={**market.admin, "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_post_of_a_suppressed_phone_is_rejected_with_its_reason(market: Market) -> None:
    _market(market, [{"type": "suppression", "lists": ["dnc"]}])
    uploaded = _upload(market, "dnc", "phone,name\n305-555-0142,Ana\n+1 212 555 0199,\nnope,x\n")
    assert uploaded == {
        "list_id": "dnc",
        "read": 2,
        "added": 2,
        "bad_lines": [4],
        "bad_line_count": 1,
    }
    # the same numbers again (another spelling) are not new
    assert _upload(market, "dnc", "(305) 555-0142\n")["added"] == 0

    answer = market.sell()  # CONTACT's phone is (305) 555-0142
    assert answer["status"] == "rejected"
    assert answer["reasons"] == ["suppressed"]
    lead = market.lead(answer["lead_id"])
    assert lead["fields"]["suppression.matched"] is True
    (step,) = lead["auction"]["steps"]
    assert step["step"] == "suppression"
    assert step["action"] == "reject"
    assert step["detail"] == "on suppression list dnc"
    # nobody was sold it; another consumer goes through
    other = market.sell({**PING, **CONTACT, "phone": "305-555-0177"})
    assert other["status"] == "sold", other

    lists = market.http.get("/api/v1/admin/suppression", headers=market.admin).json()
    assert [(row["list_id"], row["entries"]) for row in lists] == [("dnc", 2)]
    assert "555" not in str(lists)  # only counts, never a number


def test_a_flagging_step_sells_the_lead_and_orders_may_refuse_it(market: Market) -> None:
    _upload(market, "customers", "ana@example.com\n")
    clean = {"all": [{"field": "suppression.matched", "op": "eq", "value": False}]}
    _market(
        market,
        [{"type": "suppression", "lists": ["customers"], "on_fail": "flag"}],
        order("picky", "30.00", filters=clean),
        order("anyone", "10.00"),
    )
    answer = market.direct_post()  # CONTACT's email is Ana@Example.com
    assert answer["status"] == "sold", answer
    lead = market.lead(answer["lead_id"])
    assert [sale["order_id"] for sale in lead["sales"]] == ["anyone"]
    assert lead["auction"]["steps"][0]["action"] == "flag"


def test_an_order_for_mobiles_never_buys_a_landline(market: Market) -> None:
    _market(
        market,
        [{"type": "phone", "field": "uk_phone", "region": "GB"}],
        order("mobiles", "10.00", filters=MOBILE_ONLY),
    )
    landline = market.direct_post({**PING, **CONTACT, "uk_phone": UK_LANDLINE})
    assert landline["status"] == "rejected"
    assert landline["reasons"] == ["no_eligible_buyers"]
    lead = market.lead(landline["lead_id"])
    assert lead["fields"]["phone.line_type"] == "landline"
    assert lead["auction"]["steps"][0]["results"] == {
        "phone.valid": True,
        "phone.line_type": "landline",
    }

    mobile = market.direct_post({**PING, **CONTACT, "uk_phone": UK_MOBILE})
    assert mobile["status"] == "sold", mobile
    shown = market.lead(mobile["lead_id"], reveal=True)
    assert shown["fields"]["uk_phone"] == "+447911123456"  # normalized to E.164


def test_a_bad_phone_or_email_is_rejected_before_any_buyer(market: Market) -> None:
    _market(market, [{"type": "phone"}, {"type": "email"}])
    # a NANP spelling the numbering plan does not know (area code 999)
    bad_phone = market.direct_post({**PING, **CONTACT, "phone": "(999) 555-0142"})
    assert bad_phone["reasons"] == ["phone_invalid"]
    bad_email = market.direct_post({**PING, **CONTACT, "email": "ana@example.invalid"})
    assert bad_email["reasons"] == ["email_invalid"]
    trace = market.lead(bad_email["lead_id"])["auction"]
    assert [step["action"] for step in trace["steps"]] == ["continue", "reject"]
    assert trace["candidates"] == []  # no buyer was asked
    assert market.direct_post()["status"] == "sold"


def test_suppression_lists_are_for_staff_only(market: Market) -> None:
    _market(market, [])
    response = market.http.post(
        "/api/v1/admin/suppression/dnc", content=b"3055550142\n", headers=market.seller()
    )
    assert response.status_code in (401, 403)
    empty = market.http.post(
        "/api/v1/admin/suppression/dnc", content=b"name\nAna\n", headers=market.admin
    )
    assert empty.status_code == 422
    assert "no phone number or email address" in empty.text


def test_a_step_on_an_unknown_field_is_a_config_error(market: Market) -> None:
    config = marketplace(
        [buyer("shield", order("any"))], [campaign(steps=[{"type": "phone", "field": "fax"}])]
    )
    response = market.http.post(
        "/api/v1/admin/config",
        json=config,
        headers=market.admin,
    )
    assert response.status_code == 422, response.text
    assert "campaigns[0].steps[0].field" in response.text
