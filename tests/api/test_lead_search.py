"""Finding leads in the admin API by a person's email or phone (through their HMACs, in any
spelling intake accepts), by the lead's id or the seller's reference, by sub id and date."""

from __future__ import annotations

from typing import Any

from tests.api.market import CONTACT, PING, Market, buyer, marketplace, order

#: CONTACT's email and phone as a seller may spell them another time
EMAIL_AGAIN = "  ANA@EXAMPLE.COM\u200b"
PHONE_AGAIN = "+1 305.555.0142"


def _search(market: Market, **params: Any) -> Any:
    return market.http.get("/api/v1/admin/leads", headers=market.admin, params=params)


def _ids(market: Market, **params: Any) -> list[str]:
    answer = _search(market, **params)
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()]


def _sell_three(market: Market) -> tuple[str, str, str]:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    ana = market.sell({**PING, "sub_id": "pub-7", "lead_ref": "acme-001"})["lead_id"]
    other = {"phone": "(212) 555-0199", "email": "bo@example.org"}
    bo = market.sell({**PING, **other, "sub_id": "pub-8", "lead_ref": "acme-002"})["lead_id"]
    market.clock.advance(days=2)
    ana_again = market.sell({**PING, "sub_id": "pub-7"})["lead_id"]
    return ana, bo, ana_again


def test_a_person_is_found_by_email_or_phone_in_another_spelling(market: Market) -> None:
    ana, bo, ana_again = _sell_three(market)
    assert _ids(market, email=CONTACT["email"]) == [ana_again, ana]
    assert _ids(market, email=EMAIL_AGAIN) == [ana_again, ana]
    assert _ids(market, phone=PHONE_AGAIN) == [ana_again, ana]
    assert _ids(market, phone="2125550199") == [bo]
    # both given: the leads with both
    assert _ids(market, email=EMAIL_AGAIN, phone="2125550199") == []
    assert _ids(market, email="nobody@example.com") == []
    # with the other filters: the date range, the sub id
    assert _ids(market, email=EMAIL_AGAIN, until="2026-11-24T00:00:00Z") == [ana]
    assert _ids(market, phone=PHONE_AGAIN, sub_id="pub-8") == []


def test_leads_by_reference_sub_id_and_date(market: Market) -> None:
    ana, bo, ana_again = _sell_three(market)
    assert _ids(market, ref="acme-002") == [bo]
    assert _ids(market, ref=ana_again) == [ana_again]
    assert _ids(market, ref="acme-404") == []
    assert _ids(market, sub_id="pub-7") == [ana_again, ana]
    assert _ids(market, sub_id="pub-7", since="2026-11-24T00:00:00Z") == [ana_again]


def test_a_malformed_email_or_phone_is_422_naming_it_never_echoing_it(market: Market) -> None:
    _sell_three(market)
    answer = _search(market, email="ana.at.example.com", phone="555-01")
    assert answer.status_code == 422
    errors = answer.json()["detail"]
    assert [e["loc"] for e in errors] == [["query", "email"], ["query", "phone"]]
    assert "ana.at.example" not in answer.text
    assert "555-01" not in answer.text
    too_long = _search(market, email="a" * 400 + "@example.com")
    assert too_long.status_code == 422
    assert "aaaa" not in too_long.text


def test_test_leads_are_not_found_by_email(market: Market) -> None:
    """Test leads never enter the dedup history, and nothing is decrypted to search: a test
    lead is found by its id, not by its person."""
    market.apply(marketplace([buyer("qa", order("qa_order", "1.00", test_mode=True))]))
    pinged = market.ping(test=True)
    test_lead = market.post(pinged["ping_id"])["lead_id"]
    assert _ids(market, email=CONTACT["email"]) == []
    assert _ids(market, ref=test_lead) == [test_lead]
