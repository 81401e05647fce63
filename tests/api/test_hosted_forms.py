"""Hosted lead-capture forms (``/f/{form}``) over real HTTP: a consumer fills in a
campaign's form and the lead is sold to a live bidder (a mock buyer on loopback) as a
direct post, with the page's tracking values and the form's consent certificate; what
the form refuses, and how it may be embedded."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers

CONSENT = "By clicking Get my quotes, I agree that Acme's partners may call me."
FORM: dict[str, Any] = {
    "id": "quote",
    "title": "Compare auto insurance quotes",
    "intro": "Three questions, then your quotes.",
    "steps": [
        {"title": "Where you drive", "fields": ["zip", "state"]},
        {
            "title": "About you",
            "fields": [
                {"name": "age", "label": "Your age", "help": "You must be 16 or over"},
                "credit",
                {"name": "insured", "label": "I have car insurance now"},
                {"name": "first_name", "label": "First name"},
                "email",
                "phone",
            ],
        },
    ],
    "submit_label": "Get my quotes",
    "consent": CONSENT,
    "thank_you": "Thanks! An agent will call you shortly.",
    "frame_ancestors": ["https://www.acme.example"],
}
ANSWERS = {
    "zip": "33101",
    "state": "FL",
    "age": "34",
    "credit": "good",
    "first_name": "Ana",
    "email": "ana.form@example.com",
    "phone": "(305) 555-0177",
}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"rich": {"bid": {"kind": "fixed", "amount": "35.00"}}}) as running:
        yield running


def live_bidder(mock: MockBuyer) -> dict[str, Any]:
    accepted = {"accepted": {"json": "$.status", "equals": ["success"]}}
    return order(
        "rich_live",
        None,
        pricing={"type": "bid"},
        delivery={
            "ping": {
                "url": mock.ping_url("rich"),
                "body": {"fields": [{"from": "zip", "to": "zip"}]},
                "response": {
                    **accepted,
                    "bid": {"json": "$.price"},
                    "token": {"json": "$.ping_id"},
                },
            },
            "post": {
                "same_as": "ping",
                "url": mock.post_url("rich"),
                "body": {
                    "fields": [
                        {"from": "token", "to": "ping_id"},
                        {"from": "phone", "to": "phone"},
                        {"from": "consent_text", "to": "tcpa_text"},
                    ]
                },
                "response": {**accepted, "redirect_url": {"json": "$.redirect_url"}},
            },
        },
    )


@pytest.fixture
def formed(market: Market, mock: MockBuyer) -> Market:
    market.apply(
        marketplace(
            [buyer("rich", live_bidder(mock))],
            [campaign(modes=["direct_post"], forms=[FORM])],
        )
    )
    mock.reset()
    return market


def shown(market: Market, query: str = "") -> tuple[httpx.Response, str, dict[str, str]]:
    """The form's page, its text, and the hidden inputs it carries (token included)."""
    page = market.http.get(f"/f/quote{query}", headers={"user-agent": BROWSER})
    assert page.status_code == 200, page.text
    hidden = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)">', page.text
        )
    }
    return page, page.text, hidden


def send(market: Market, data: dict[str, str], origin: str | None = None) -> httpx.Response:
    headers = {"user-agent": BROWSER, "origin": origin or str(market.http.base_url).rstrip("/")}
    return market.http.post("/f/quote", data=data, headers=headers, follow_redirects=False)


def the_lead(market: Market, sub_id: str) -> dict[str, Any]:
    give_up = time.monotonic() + 10
    while True:
        found = market.http.get(
            "/api/v1/admin/leads", headers=market.admin, params={"sub_id": sub_id}
        )
        assert found.status_code == 200, found.text
        rows = found.json()
        rows = rows.get("leads", rows) if isinstance(rows, dict) else rows
        if rows or time.monotonic() > give_up:
            break
        time.sleep(0.05)
    (row,) = rows
    return market.lead(row["id"], reveal=True)


def test_a_consumer_fills_in_the_form_and_the_lead_is_sold(formed: Market, mock: MockBuyer) -> None:
    page, text, hidden = shown(formed, "?sub_id=fb1&utm_source=facebook&click_id=c-9")
    # the vertical's fields in the form's steps, labelled, typed, with help and consent
    assert "<legend>Where you drive</legend>" in text
    assert '<label for="age">Your age</label>' in text
    assert 'id="age-help">You must be 16 or over</p>' in text
    assert 'type="email"' in text
    assert 'type="tel"' in text
    assert '<option value="good">good</option>' in text
    assert 'type="checkbox" id="insured" name="insured" value="true"' in text
    assert CONSENT in html.unescape(text)
    assert hidden["sub_id"] == "fb1"
    assert (hidden["utm_source"], hidden["click_id"]) == ("facebook", "c-9")
    # who may frame it: pingtree and the configured page; no script runs in it
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://www.acme.example" in csp
    assert "default-src 'none'" in csp
    assert "<script" not in text

    answer = send(formed, {**hidden, **ANSWERS})
    assert answer.status_code == 303, answer.text
    (post,) = mock.requests_to("rich", "post")
    token = post.body.decode().split('"ping_id":"')[1].split('"')[0]
    # the buyer's redirect URL, as a direct post's answer gives it
    assert answer.headers["location"] == f"https://buyer.invalid/thanks/{token}"
    assert CONSENT in post.body.decode()  # the consent text reached the buyer by mapping

    lead = the_lead(formed, "fb1")
    assert lead["status"] == "sold", lead
    fields = lead["fields"]
    assert (fields["first_name"], fields["phone"], fields["utm_source"]) == (
        "Ana",
        "3055550177",
        "facebook",
    )
    assert fields["insured"] is False  # a box left unticked is a no
    # the consent certificate: the text shown, when, from where, by what browser
    assert fields["consent_text"] == CONSENT
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", fields["consent_at"])
    assert fields["ip_address"] == "127.0.0.1"
    assert fields["user_agent"] == BROWSER

    # the same form sent again (a double click): the first answer, sold once
    again = send(formed, {**hidden, **ANSWERS})
    assert (again.status_code, again.headers["location"]) == (303, answer.headers["location"])
    assert len(mock.requests_to("rich", "post")) == 1


def test_mistakes_are_shown_by_their_fields_and_the_answers_kept(formed: Market) -> None:
    _, _, hidden = shown(formed)
    answer = send(formed, {**hidden, **ANSWERS, "email": "ana@", "age": "", "credit": "meh"})
    assert answer.status_code == 422
    text = answer.text
    # every mistake at once: the one missing and the ones the vertical's rules refuse
    assert 'id="age-error">Please fill this in.</p>' in text
    assert re.search(r'id="email-error">[^<]+</p>', text), text
    assert re.search(r'id="credit-error">[^<]+</p>', text), text
    assert 'id="zip-error"' not in text
    assert 'aria-invalid="true"' in text
    assert 'value="33101"' in text  # what was typed stays
    assert "ana@" in text


def test_a_form_sent_from_elsewhere_or_with_a_forged_token_is_refused(
    formed: Market, mock: MockBuyer
) -> None:
    _, _, hidden = shown(formed)
    elsewhere = send(formed, {**hidden, **ANSWERS}, origin="https://evil.example")
    assert elsewhere.status_code == 403
    assert "another site" in elsewhere.text
    forged = send(formed, {**hidden, **ANSWERS, "form_token": hidden["form_token"][:-2] + "00"})
    assert forged.status_code == 400
    assert "expired" in forged.text
    assert mock.requests_to("rich") == []
    too_big = send(formed, {**hidden, **ANSWERS, "sub_id": "x" * 70_000})
    assert too_big.status_code == 413


def test_the_form_is_embedded_by_a_script_tag(formed: Market) -> None:
    script = formed.http.get("/f/quote/embed.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    base = str(formed.http.base_url).rstrip("/")
    assert f'new URL("{base}/f/quote")' in script.text
    assert 'frame.title = "Compare auto insurance quotes";' in script.text
    assert '"utm_source"' in script.text
    missing = formed.http.get("/f/nope")
    assert missing.status_code == 404
    assert "no form nope" in missing.text


def test_a_campaign_requiring_consent_gets_its_evidence_from_the_form(
    market: Market, mock: MockBuyer
) -> None:
    consent = {
        "texts": [{"version": "2026-12", "text": CONSENT}],
        "require": ["text", "time", "ip", "page_url"],
    }
    form = {key: value for key, value in FORM.items() if key != "consent"}  # the campaign's
    market.apply(
        marketplace(
            [buyer("rich", live_bidder(mock))],
            [campaign(modes=["direct_post"], forms=[form], consent=consent)],
        )
    )
    mock.reset()
    _, text, hidden = shown(market, "?sub_id=consented")
    assert CONSENT in html.unescape(text)
    assert hidden["source_url"].endswith("/f/quote?sub_id=consented")  # the form's own page
    answer = send(market, {**hidden, **ANSWERS})
    assert answer.status_code == 303, answer.text
    lead = the_lead(market, "consented")
    assert lead["status"] == "sold", lead
    assert lead["fields"]["consent_text"] == CONSENT
    assert lead["fields"]["source_url"] == hidden["source_url"]


def test_a_form_of_a_ping_post_campaign_pings_then_posts(market: Market, mock: MockBuyer) -> None:
    form = {**FORM, "flow": "ping_post"}
    market.apply(
        marketplace(
            [buyer("rich", live_bidder(mock))],
            [campaign(modes=["ping_post"], forms=[form])],
        )
    )
    mock.reset()
    _, _, hidden = shown(market, "?sub_id=pinged1")
    answer = send(market, {**hidden, **ANSWERS})
    assert answer.status_code == 303, answer.text
    pings, posts = mock.requests_to("rich", "ping"), mock.requests_to("rich", "post")
    assert (len(pings), len(posts)) == (1, 1)
    assert b"555" not in pings[0].body  # the ping carried no PII
    lead = the_lead(market, "pinged1")
    assert lead["status"] == "sold", lead
    assert lead["ping_id"] is not None
    assert lead["fields"]["consent_text"] == CONSENT
