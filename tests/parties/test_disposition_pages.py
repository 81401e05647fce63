"""Dispositions in the UI over real HTTP, browser-free as a form posts: a buyer's user reports
one from its bought lead's page (a refused one shows why and records nothing); staff see
every report on the admin lead page, the supplier's user the codes only; the report page
shows staff everything and a supplier its own campaigns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.api.market import Market
from tests.parties.market import FLORIDA, TEXAS, sell, two_buyers
from tests.web.conftest import PASSWORD
from tests.web.session import csrf_token, sign_in


def _user(market: Market, username: str, role: str, **binding: str) -> None:
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={"username": username, "role": role, "password": PASSWORD, **binding},
    )
    assert made.status_code == 201, made.text


@contextmanager
def _signed_in(market: Market, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, username).status_code == 303
        yield http


def test_a_buyer_reports_from_its_portal_and_each_party_sees_what_it_may(market: Market) -> None:
    market.apply(two_buyers())
    alpha_lead = sell(market, FLORIDA, "north_auto", "(305) 555-0101", sub_id="fb1")
    bravo_lead = sell(market, TEXAS, "south_auto", "(305) 555-0102", sub_id="fb1")
    _user(market, "bea", "buyer", buyer_id="alpha")
    _user(market, "sam", "supplier", supplier_id="north")
    _user(market, "otto", "operator")

    with _signed_in(market, "bea") as http:
        page = http.get(f"/ui/bought-leads/{alpha_lead}")
        assert page.status_code == 200, page.text
        assert 'name="code"' in page.text
        assert "None reported yet." in page.text
        token = csrf_token(page.text)
        action = f"/ui/bought-leads/{alpha_lead}/dispositions"
        refused = http.post(action, data={"csrf_token": token, "code": "sold", "value": "12.345"})
        assert refused.status_code == 422
        assert "value: at most two decimals" in refused.text
        assert 'value="12.345"' in refused.text  # the input is kept for a second try
        assert "None reported yet." in refused.text
        made = http.post(
            action,
            data={"csrf_token": token, "code": "sold", "value": "1250.50", "note": "policy 7"},
        )
        assert made.status_code == 303, made.text
        assert made.headers["location"] == f"/ui/bought-leads/{alpha_lead}#dispositions"
        shown = http.get(f"/ui/bought-leads/{alpha_lead}").text
        assert "1250.50" in shown
        assert "policy 7" in shown
        # another buyer's lead: neither its page nor a report
        other = f"/ui/bought-leads/{bravo_lead}/dispositions"
        assert http.post(other, data={"csrf_token": token, "code": "sold"}).status_code == 404
        # a missing CSRF token records nothing
        assert http.post(action, data={"code": "contacted"}).status_code == 403
        assert http.get("/ui/dispositions").status_code == 403

    with _signed_in(market, "otto") as http:
        lead = http.get(f"/ui/leads/{alpha_lead}").text
        assert "1250.50" in lead
        assert "policy 7" in lead
        assert "alpha" in lead
        report = http.get("/ui/dispositions", params=[("by", "supplier"), ("by", "buyer")])
        assert report.status_code == 200, report.text
        assert "bravo" in report.text
        assert "1250.50" in report.text

    _user(market, "ana", "analyst")
    with _signed_in(market, "ana") as http:
        lead = http.get(f"/ui/leads/{alpha_lead}").text
        assert "1250.50" in lead
        assert "policy 7" not in lead  # a note may name the consumer: no PII for an analyst

    # erasing the consumer takes the notes, keeps the codes and values
    erased = market.http.post(
        "/api/v1/admin/erasures", headers=market.admin, json={"lead_id": alpha_lead}
    )
    assert erased.status_code == 201, erased.text
    kept = market.http.get(f"/api/v1/admin/leads/{alpha_lead}/dispositions", headers=market.admin)
    assert [(d["code"], d["value"], d["note"]) for d in kept.json()] == [("sold", "1250.50", "")]

    with _signed_in(market, "sam") as http:
        lead = http.get(f"/ui/leads/{alpha_lead}").text
        assert "<code>sold</code>" in lead
        for word in ("1250.50", "policy 7", "alpha"):
            assert word not in lead
        report = http.get("/ui/dispositions")
        assert report.status_code == 200, report.text
        assert "north_auto" in report.text
        assert "fb1" in report.text
        assert "south_auto" not in report.text
        nav = report.text.split('<nav aria-label="Sections">')[1].split("</nav>")[0]
        assert "/ui/dispositions" in nav
        by_buyer = http.get("/ui/dispositions", params={"by": "buyer"})
        assert by_buyer.status_code == 400
