"""Finding a person's leads on the leads page: the email or phone typed becomes its HMAC in
the URL at once, so no link the page renders holds it; a malformed one is a 422 page that
names the field and never shows the value."""

from __future__ import annotations

import re

import httpx

from tests.api.market import CONTACT, PING, Market, buyer, marketplace, order
from tests.web.session import sign_in


def _signed_in(market: Market) -> httpx.Client:
    assert sign_in(market.http, "otto").status_code == 303
    return market.http


def _lead_ids(html: str) -> list[str]:
    return re.findall(r'<a class="id" href="/ui/leads/([0-9a-f-]+)">', html)


def test_an_email_in_another_spelling_finds_the_person_and_leaves_no_trace(
    market: Market,
) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    ana = market.sell({**PING, "sub_id": "pub-7"})["lead_id"]
    other = {"phone": "(212) 555-0199", "email": "bo@example.org"}
    bo = market.sell({**PING, **other})["lead_id"]
    http = _signed_in(market)

    asked = http.get("/ui/leads", params={"email": "ANA@example.COM\u200b", "status": ""})
    assert asked.status_code == 303
    target = asked.headers["location"]
    assert "example" not in target.lower()
    assert "ana" not in target.lower()
    assert re.search(r"person=[0-9a-f]{64}", target)

    page = http.get(target)
    assert page.status_code == 200
    assert _lead_ids(page.text) == [ana]
    for link in re.findall(r'(?:href|action)="([^"]*)"', page.text):
        assert "example" not in link.lower(), link
    assert CONTACT["email"].lower() not in page.text.lower()

    by_phone = http.get("/ui/leads", params={"phone": "212.555.0199"}, follow_redirects=True)
    assert _lead_ids(by_phone.text) == [bo]
    by_sub_id = http.get("/ui/leads", params={"sub_id": "pub-7"})
    assert _lead_ids(by_sub_id.text) == [ana]
    by_ref = http.get("/ui/leads", params={"ref": bo})
    assert _lead_ids(by_ref.text) == [bo]


def test_a_malformed_email_is_a_422_page_without_the_value(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    page = _signed_in(market).get("/ui/leads", params={"email": "ana.at.example.com"})
    assert page.status_code == 422
    assert "email: must be an email address" in page.text
    assert "ana.at.example" not in page.text


def test_an_analyst_may_not_find_a_person(market: Market) -> None:
    """Whether someone's email has leads is personal data: an analyst sees none."""
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    market.sell({**PING, "sub_id": "pub-7"})
    assert sign_in(market.http, "ana").status_code == 303
    page = market.http.get("/ui/leads")
    assert page.status_code == 200
    assert 'name="email"' not in page.text
    assert 'name="sub_id"' in page.text
    asked = market.http.get("/ui/leads", params={"email": CONTACT["email"]}, follow_redirects=True)
    assert asked.status_code == 403
    assert _lead_ids(asked.text) == []
    assert len(_lead_ids(market.http.get("/ui/leads", params={"sub_id": "pub-7"}).text)) == 1
