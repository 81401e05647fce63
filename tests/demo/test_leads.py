"""The synthetic leads: valid for the shipped verticals, fictional contact details."""

from __future__ import annotations

import datetime as dt
import ipaddress
import random

import pytest

from pingtree.config.compile import compile_config
from pingtree.demo.leads import EMAIL_DOMAINS, LeadFactory, Vertical
from pingtree.demo.market import demo_document
from pingtree.domain.fields import Stage, validate_fields
from pingtree.domain.verticals import Vertical as VerticalSchema

TODAY = dt.date(2026, 11, 23)
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
]


def schema(vertical: Vertical) -> VerticalSchema:
    return compile_config(demo_document("http://127.0.0.1:9")).verticals[vertical]


@pytest.mark.parametrize("vertical", ["auto_insurance", "health_insurance"])
def test_every_lead_fits_its_vertical_at_ping_and_at_post(vertical: Vertical) -> None:
    fields = schema(vertical)
    factory = LeadFactory(random.Random(3), TODAY)
    for _ in range(500):
        lead = factory.lead(vertical)
        assert lead.vertical == vertical
        pinged = validate_fields(fields, lead.ping_fields, Stage.PING)
        assert pinged.errors == ()
        assert pinged.pii_in_ping == ()  # a ping carries no PII
        posted = validate_fields(fields, lead.post_fields, Stage.POST)
        assert posted.errors == ()


@pytest.mark.parametrize("vertical", ["auto_insurance", "health_insurance"])
def test_contact_details_are_fictional(vertical: Vertical) -> None:
    fields = schema(vertical)
    factory = LeadFactory(random.Random(4), TODAY)
    for _ in range(500):
        values = validate_fields(fields, factory.lead(vertical).post_fields, Stage.POST).values
        email, phone = str(values["email"]), str(values["phone"])
        assert email.rsplit("@", 1)[1] in EMAIL_DOMAINS
        # NANP's fictional block: 555-0100 to 555-0199
        assert phone[3:8] == "55501", phone
        ip = ipaddress.ip_address(str(values["ip_address"]))
        assert any(ip in network for network in DOCUMENTATION_NETWORKS)


def test_leads_vary_like_real_traffic() -> None:
    factory = LeadFactory(random.Random(5), TODAY)
    auto = [factory.auto_lead() for _ in range(400)]
    health = [factory.health_lead() for _ in range(400)]
    assert len({lead.ping_fields["state"] for lead in auto}) >= 15
    assert len({lead.contact_fields["email"] for lead in auto}) > 350
    assert len({lead.ping_fields["lead_ref"] for lead in auto + health}) == 800
    # a few drivers are too young for every buyer: their pings show rejections
    assert any(int(lead.ping_fields["age"]) < 18 for lead in auto)
    coverages = {lead.ping_fields["coverage_type"] for lead in health}
    assert {"individual", "family", "medicare_advantage", "short_term"} <= coverages
    for lead in health:
        if str(lead.ping_fields["coverage_type"]).startswith("medicare"):
            assert int(lead.ping_fields["age"]) >= 65


def test_the_same_seed_draws_the_same_leads() -> None:
    first = LeadFactory(random.Random(9), TODAY).auto_lead()
    again = LeadFactory(random.Random(9), TODAY).auto_lead()
    assert first.ping_fields == again.ping_fields
    assert {k: v for k, v in first.contact_fields.items() if k != "consent_at"} == {
        k: v for k, v in again.contact_fields.items() if k != "consent_at"
    }
