"""Quality steps that call outside services (``type: http``), over HTTP on a real server,
against loopback servers speaking TrustedForm's, Jornaya's and a fraud score's published
contracts (``tests/support/services.py``): a TrustedForm id of ``not-a-cert`` is rejected,
orders filter on the results, and a service's failure follows the step's ``on_error``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.services import Services, running_services

CERT = "0dcf2d4fd42c8b1e8c5cee4e8e6d7e4b5e6a1f20"
LEADID = "A1B2C3D4-E5F6-0718-293A-4B5C6D7E8F90"


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    with running_services() as running:
        for name, value in running.secrets().items():
            monkeypatch.setenv(name, value)
        yield running


def _apply(market: Market, steps: list[dict[str, Any]], *orders: dict[str, Any]) -> None:
    market.apply(
        marketplace(
            [buyer("shield", *(orders or (order("shield_all", "10.00"),)))],
            [campaign(steps=steps)],
        )
    )


def _lead(**fields: Any) -> dict[str, Any]:
    return {**PING, **CONTACT, **fields}


def test_trustedform_claims_a_certificate_and_rejects_not_a_cert(
    market: Market, services: Services
) -> None:
    tf = {
        "type": "http",
        "preset": "trustedform",
        "request": {"url": services.url + "/tf/{trusted_form_cert_id}"},
    }
    _apply(market, [tf])

    sold = market.direct_post(_lead(trusted_form_cert_id=f"https://cert.trustedform.com/{CERT}"))
    assert sold["status"] == "sold", sold
    lead = market.lead(sold["lead_id"])
    assert lead["fields"]["trustedform.verified"] is True
    assert lead["fields"]["trustedform.expires_at"] == "2027-03-07T04:12:00.000Z"
    (line,) = lead["auction"]["steps"]
    assert (line["step"], line["kind"], line["action"]) == ("trustedform", "http", "continue")
    assert line["results"]["trustedform.lead_matched"] is True
    # the certificate's id went into the URL; the lead's email and phone into match_lead
    path, headers, _, body = services.requests[-1]
    assert path == f"/tf/{CERT}"
    assert headers["api-version"] == "4.0"
    assert headers["authorization"].startswith("Basic ")
    assert b'"match_lead":{"email":"ana@example.com"' in body

    refused = market.direct_post(_lead(trusted_form_cert_id="not-a-cert"))
    assert refused["status"] == "rejected"
    assert refused["reasons"] == ["verification_failed"]
    lead = market.lead(refused["lead_id"])
    assert lead["fields"]["trustedform.verified"] is False
    (line,) = lead["auction"]["steps"]
    assert line["action"] == "reject"
    assert line["detail"] == "the service said no: HTTP 404"
    assert lead["auction"]["candidates"] == []  # no buyer was asked

    # a ping then post of the same lead is refused the same way
    posted = market.sell(_lead(trusted_form_cert_id="not-a-cert"))
    assert posted["reasons"] == ["verification_failed"]
    # and a lead with no certificate at all is not verified either, without a call
    before = len(services.requests)
    assert market.direct_post()["reasons"] == ["verification_failed"]
    assert len(services.requests) == before


def test_orders_filter_on_a_flagging_jornaya_step(market: Market, services: Services) -> None:
    jornaya = {
        "type": "http",
        "preset": "jornaya",
        "on_fail": "flag",
        "request": {"url": services.url + "/Authenticate"},
    }
    verified = {"all": [{"field": "jornaya.valid", "op": "eq", "value": True}]}
    _apply(market, [jornaya], order("picky", "30.00", filters=verified), order("anyone", "10.00"))
    authentic = market.direct_post(_lead(jornaya_lead_id=LEADID))
    assert authentic["status"] == "sold", authentic
    assert [s["order_id"] for s in market.lead(authentic["lead_id"])["sales"]] == ["picky"]
    _, _, query, _ = services.requests[-1]
    assert query == {"id": LEADID, "lac": "jornaya-ac-test"}

    unknown = market.direct_post(_lead(jornaya_lead_id="B1B2C3D4-E5F6-0718-293A-4B5C6D7E8F90"))
    assert unknown["status"] == "sold", unknown
    lead = market.lead(unknown["lead_id"])
    assert [sale["order_id"] for sale in lead["sales"]] == ["anyone"]
    assert lead["fields"]["jornaya.valid"] is False
    assert lead["auction"]["steps"][0]["action"] == "flag"


def test_a_fraud_service_that_fails_follows_on_error(market: Market, services: Services) -> None:
    fraud = {
        "type": "http",
        "preset": "fraud_score",
        "on_error": "continue",
        "request": {
            "url": services.url + "/api/json/phone/{key}",
            "vars": {"key": {"secret": "fraud_key"}},
            "timeout_ms": 300,
        },
    }
    _apply(market, [fraud])
    low = market.direct_post(_lead(phone="305-555-0142"))
    assert low["status"] == "sold", low
    assert market.lead(low["lead_id"])["fields"]["fraud.score"] == "12"
    high = market.direct_post(_lead(phone="305-555-0199"))
    assert high["reasons"] == ["verification_failed"]

    # a 503: the lead goes on (on_error: continue), the error in its trace, no score
    down = market.direct_post(_lead(phone="305-555-0177"))
    assert down["status"] == "sold", down
    lead = market.lead(down["lead_id"])
    assert "fraud.score" not in lead["fields"]
    (line,) = lead["auction"]["steps"]
    assert line["error"] is True
    assert line["action"] == "continue"
    assert line["detail"] == "unreadable answer: status"

    # a service slower than the step's timeout, with on_error: reject
    _apply(market, [{**fraud, "on_error": "reject"}])
    slow = market.direct_post(_lead(phone="305-555-0188"))
    assert slow["reasons"] == ["verification_unavailable"]
    line = market.lead(slow["lead_id"])["auction"]["steps"][0]
    assert line["detail"] == "no answer: timeout"


def test_http_step_configuration_errors_name_their_paths(market: Market) -> None:
    steps = [
        {"type": "http", "preset": "trustedform", "request": {"url": "ftp://x"}},
        {"type": "http", "name": "score", "request": {"url": "https://s.example/{nope}"}},
        {"type": "http", "preset": "nope"},
        {"type": "phone", "preset": "jornaya"},
    ]
    config = marketplace([buyer("shield", order("any"))], [campaign(steps=steps)])
    response = market.http.post("/api/v1/admin/config", json=config, headers=market.admin)
    assert response.status_code == 422, response.text
    text = response.text
    assert "campaigns[0].steps[0].request.url" in text
    assert "campaigns[0].steps[1].request.url" in text  # an unknown placeholder
    assert "campaigns[0].steps[2].preset" in text
    assert "campaigns[0].steps[3].preset" in text
