"""A lead's page shows its quality steps' verdicts: a consent step's evidence (version,
time, page, certificate; never the consumer's IP) and an HTTP step's results, here to an
analyst, who may not see personal data; the posting instructions say what a campaign's
consent and checks require."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.services import Services, running_services
from tests.web.session import sign_in

LEADID = "A1B2C3D4-E5F6-0718-293A-4B5C6D7E8F90"


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    with running_services() as running:
        for name, value in running.secrets().items():
            monkeypatch.setenv(name, value)
        yield running


def test_the_lead_page_shows_consent_evidence_and_a_services_verdict(
    market: Market, services: Services
) -> None:
    jornaya = {
        "type": "http",
        "preset": "jornaya",
        "request": {"url": services.url + "/Authenticate"},
    }
    consent = {"texts": [{"version": "2026-10", "text": "Call me about quotes."}]}
    market.apply(
        marketplace([buyer("b", order("o"))], [campaign(consent=consent, steps=[jornaya])])
    )
    given = market.clock.now() - dt.timedelta(minutes=5)
    sold = market.direct_post(
        {
            **PING,
            **CONTACT,
            "consent_text": "Call me about quotes.",
            "consent_at": given.isoformat(),
            "ip_address": "203.0.113.7",
            "source_url": "https://quotes.example/auto",
            "jornaya_lead_id": LEADID,
        }
    )
    assert sold["status"] == "sold", sold
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as browser:
        assert sign_in(browser, "ana").status_code == 303  # an analyst
        page = browser.get(f"/ui/leads/{sold['lead_id']}").text
    assert "Quality steps" in page
    assert "consent.version = &#34;2026-10&#34;" in page or 'consent.version = "2026-10"' in page
    assert "consent.valid = true" in page
    assert "https://quotes.example/auto" in page
    assert "jornaya.valid = true" in page
    assert "203.0.113.7" not in page  # the IP is PII


def test_the_posting_instructions_say_what_consent_and_checks_require(market: Market) -> None:
    consent = {
        "texts": [{"version": "2026-10", "text": "Call me about quotes."}],
        "max_age_minutes": 60,
    }
    fraud = {"type": "http", "preset": "fraud_score", "request": {"url": "https://f.example/s"}}
    market.apply(marketplace([buyer("b", order("o"))], [campaign(consent=consent, steps=[fraud])]))
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as browser:
        assert sign_in(browser, "ada").status_code == 303
        text = browser.get("/ui/campaigns/acme_auto/instructions.md").text
    assert "requires consent evidence with each lead" in text
    assert "`trusted_form_cert_id` or `jornaya_lead_id`" in text
    assert "at most 60 minutes old" in text
    assert "version `2026-10`: “Call me about quotes.”" in text
    assert "`consent_stale` or `consent_mismatch`" in text
    assert "Each lead is checked with `fraud`" in text
    assert "`verification_failed`" in text
