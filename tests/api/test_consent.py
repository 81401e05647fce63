"""Consent as evidence, over HTTP on a real server: a campaign requiring consent takes a
lead whose text is a current version of its own, recent, with an IP, a page URL and a
certificate; stores it with the lead and its trace; maps it to a buyer. A missing piece
is a 422 naming the field, a stale or foreign consent a rejection naming it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers

OLD_TEXT = "I agree to be called about quotes."
TEXT = (
    "By clicking Get quotes, I agree that Acme and its partners may call and text me at\n"
    "the number above, including by autodialer. Consent is not a condition of purchase."
)
CERT = "https://cert.trustedform.com/0dcf2d4fd42c8b1e8c5cee4e8e6d7e4b5e6a1f20"
CONSENT = {
    "texts": [
        {"version": "2026-06", "text": OLD_TEXT, "retired_at": "2026-10-01T00:00:00Z"},
        {"version": "2026-10", "text": TEXT},
    ],
    "max_age_minutes": 60,
}
#: what the consent fields are posted to the buyer as
MAPPING = [
    {"from": "consent_text", "to": "tcpa.text"},
    {"from": "consent_at", "to": "tcpa.timestamp"},
    {"from": "ip_address", "to": "tcpa.ip"},
    {"from": "source_url", "to": "tcpa.page_url"},
    {"from": "trusted_form_cert_id", "to": "tcpa.certificate"},
    {"from": "email", "to": "email"},
]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"taker": {"check_token": False}}) as running:
        yield running


def _apply(market: Market, mock: MockBuyer, **consent: Any) -> None:
    post = {
        "url": mock.post_url("taker"),
        "content_type": "json",
        "timeout_ms": 1000,
        "body": {"fields": MAPPING},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    taker = buyer("taker", order("taker_fixed", "30.00", delivery={"post": post}))
    market.apply(marketplace([taker], [campaign(consent={**CONSENT, **consent})]))


def _lead(market: Market, **fields: Any) -> dict[str, Any]:
    given = market.clock.now() - dt.timedelta(minutes=10)
    evidence = {
        # rewrapped by the seller's system: the words are what count
        "consent_text": " ".join(TEXT.split()),
        "consent_at": given.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(),
        "ip_address": "203.0.113.7",
        "source_url": "https://quotes.example/auto?utm_source=fb",
        "trusted_form_cert_id": CERT,
    }
    return {k: v for k, v in {**PING, **CONTACT, **evidence, **fields}.items() if v is not None}


def test_a_consented_lead_is_stored_traced_and_mapped_to_its_buyer(
    market: Market, mock: MockBuyer
) -> None:
    _apply(market, mock)
    mock.reset()
    sold = market.direct_post(_lead(market))
    assert sold["status"] == "sold", sold
    lead = market.lead(sold["lead_id"], reveal=True)
    given = (market.clock.now() - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = lead["fields"]
    assert fields["consent.valid"] is True
    assert fields["consent.version"] == "2026-10"
    assert fields["consent_at"] == given  # normalized to UTC
    (line,) = lead["auction"]["steps"]
    assert line["step"] == "consent"
    assert line["action"] == "continue"
    assert line["results"] == {
        "consent.at": given,
        "consent.page_url": "https://quotes.example/auto?utm_source=fb",
        "consent.certificate": CERT,
        "consent.version": "2026-10",
        "consent.valid": True,
    }
    assert "203.0.113.7" not in json.dumps(line)  # the IP (PII) is kept with the lead only
    (received,) = mock.requests_to("taker", "post")
    assert json.loads(received.body)["tcpa"] == {
        "text": " ".join(TEXT.split()),
        "timestamp": given,
        "ip": "203.0.113.7",
        "page_url": "https://quotes.example/auto?utm_source=fb",
        "certificate": CERT,
    }
    # a ping then post carries it the same way
    assert market.sell(_lead(market))["status"] == "sold"


def test_missing_or_malformed_evidence_is_a_422_naming_the_field(
    market: Market, mock: MockBuyer
) -> None:
    _apply(market, mock)
    for missing in ("ip_address", "consent_text", "source_url", "consent_at"):
        response = market.http.post(
            "/api/v1/leads",
            json={"fields": _lead(market, **{missing: None})},
            headers=market.seller(),
        )
        assert response.status_code == 422, response.text
        (error,) = response.json()["detail"]
        assert error["loc"] == ["body", "fields", missing]
        assert "consent" in error["msg"]
    response = market.http.post(
        "/api/v1/leads",
        json={"fields": _lead(market, trusted_form_cert_id=None)},
        headers=market.seller(),
    )
    assert response.status_code == 422
    assert "or jornaya_lead_id" in response.json()["detail"][0]["msg"]
    # a Jornaya LeadiD is a certificate too
    jornaya = _lead(market, trusted_form_cert_id=None, jornaya_lead_id="A" * 36)
    assert market.direct_post(jornaya)["status"] == "sold"
    response = market.http.post(
        "/api/v1/leads",
        json={"fields": _lead(market, consent_at="yesterday")},
        headers=market.seller(),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "fields", "consent_at"]


def test_stale_or_foreign_consent_is_rejected_naming_the_field(
    market: Market, mock: MockBuyer
) -> None:
    _apply(market, mock)
    now = market.clock.now()
    stale = market.direct_post(_lead(market, consent_at=(now - dt.timedelta(hours=2)).isoformat()))
    assert stale["status"] == "rejected"
    assert stale["reasons"] == ["consent_stale"]
    assert stale["fields"] == ["consent_at"]
    line = market.lead(stale["lead_id"])["auction"]["steps"][0]
    assert line["detail"] == "consent_at is older than 60 minutes"
    assert line["field"] == "consent_at"

    future = market.direct_post(_lead(market, consent_at=(now + dt.timedelta(hours=1)).isoformat()))
    assert future["reasons"] == ["consent_stale"]

    foreign = market.direct_post(_lead(market, consent_text="I agree to anything."))
    assert (foreign["reasons"], foreign["fields"]) == (["consent_mismatch"], ["consent_text"])
    # the retired version, given after its retirement
    retired = market.direct_post(_lead(market, consent_text=OLD_TEXT))
    assert (retired["reasons"], retired["fields"]) == (["consent_stale"], ["consent_text"])

    # the same over ping then post
    pinged = market.ping()
    posted = market.post(pinged["ping_id"], _lead(market, consent_text="I agree to anything."))
    assert (posted["reasons"], posted["fields"]) == (["consent_mismatch"], ["consent_text"])


def test_a_flagging_campaign_sells_stale_consent_to_orders_that_take_it(
    market: Market, mock: MockBuyer
) -> None:
    valid_only = {"all": [{"field": "consent.valid", "op": "eq", "value": True}]}
    market.apply(
        marketplace(
            [
                buyer("picky", order("picky", "40.00", filters=valid_only)),
                buyer("any", order("any")),
            ],
            [campaign(consent={**CONSENT, "on_fail": "flag", "require": ["text", "time"]})],
        )
    )
    now = market.clock.now()
    old = _lead(market, consent_at=(now - dt.timedelta(days=1)).isoformat(), ip_address=None)
    sold = market.direct_post(old)
    assert sold["status"] == "sold", sold
    lead = market.lead(sold["lead_id"])
    assert [sale["order_id"] for sale in lead["sales"]] == ["any"]
    assert lead["fields"]["consent.valid"] is False
    assert lead["auction"]["steps"][0]["action"] == "flag"


def test_consent_configuration_errors_name_their_paths(market: Market) -> None:
    consent = {
        "texts": [
            {"version": "a", "text": "x", "retired_at": "2026-01-01T00:00:00"},
            {"version": "a", "text": "y"},
            {"version": "b", "text": " x "},
        ],
        "require": ["text", "signature"],
    }
    config = marketplace([buyer("b", order("o"))], [campaign(consent=consent)])
    response = market.http.post("/api/v1/admin/config", json=config, headers=market.admin)
    assert response.status_code == 422, response.text
    text = response.text
    assert "campaigns[0].consent.require" in text
    consent["require"] = ["text"]
    response = market.http.post("/api/v1/admin/config", json=config, headers=market.admin)
    assert response.status_code == 422, response.text
    text = response.text
    for path in ("texts[0].retired_at", "texts[1].version", "texts[2].text"):
        assert f"campaigns[0].consent.{path}" in text, path
