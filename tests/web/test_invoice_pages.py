"""The invoices pages over real HTTP: an operator previews a buyer's draft and issues it from
the page's form; the buyer's user opens its own invoice (page, PDF, CSV) and never
another's; a supplier's user sees its own payout statement with no buyer name or price; an
analyst reads but never issues."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.api.market import Market
from tests.api.test_invoices import AFTER_NOVEMBER, NAMES, PRICES, _config, _pdf_text, _sell
from tests.web.conftest import PASSWORD
from tests.web.session import csrf_token, sign_in


def _user(market: Market, username: str, **binding: str) -> None:
    role = "supplier" if "supplier_id" in binding else "buyer"
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


def _issue_from_the_page(http: httpx.Client, party: str) -> httpx.Response:
    draft = http.get("/ui/invoices/draft", params={"party": party, "month": "2026-11"})
    assert draft.status_code == 200, draft.text
    return http.post(
        "/ui/invoices/issue",
        data={
            "csrf_token": csrf_token(draft.text),
            "party": party,
            "from": "2026-11-01",
            "to": "2026-11-30",
        },
    )


@pytest.fixture
def issued(market: Market) -> dict[str, Any]:
    """Alpha and Bravo bought November leads from Acme; an operator issued Alpha's and
    Bravo's invoices and Acme's statement from the pages."""
    market.apply(_config())
    leads = [_sell(market, "alpha"), _sell(market, "alpha"), _sell(market, "bravo")]
    market.clock.set(AFTER_NOVEMBER)
    numbers = {}
    with _signed_in(market, "otto") as otto:
        for party in ("buyer:alpha", "buyer:bravo", "supplier:acme"):
            answer = _issue_from_the_page(otto, party)
            assert answer.status_code == 303, answer.text
            numbers[party] = answer.headers["location"].rsplit("/", 1)[1]
    assert numbers == {
        "buyer:alpha": "INV-2026-0001",
        "buyer:bravo": "INV-2026-0002",
        "supplier:acme": "ST-2026-0001",
    }
    _user(market, "bea", buyer_id="alpha")
    _user(market, "sam", supplier_id="acme")
    return {"numbers": numbers, "leads": leads}


def test_a_buyers_user_opens_its_own_invoice_and_no_other(
    market: Market, issued: dict[str, Any]
) -> None:
    own, other = issued["numbers"]["buyer:alpha"], issued["numbers"]["buyer:bravo"]
    with _signed_in(market, "bea") as bea:
        listing = bea.get("/ui/invoices")
        assert listing.status_code == 200
        assert own in listing.text
        assert other not in listing.text
        assert NAMES["bravo"] not in listing.text
        page = bea.get(f"/ui/invoices/{own}")
        assert page.status_code == 200
        assert PRICES["alpha"] in page.text
        # on credit: what it owes for November first (two leads)
        assert 'Total due for the period: <strong class="num">82.34</strong>' in page.text
        for lead_id in issued["leads"][:2]:
            assert lead_id in page.text
        assert issued["leads"][2] not in page.text
        assert "Issue this" not in page.text  # a buyer never issues
        pdf = bea.get(f"/ui/invoices/{own}.pdf")
        assert pdf.content.startswith(b"%PDF-")
        assert f"Invoice {own}" in _pdf_text(pdf.content)
        assert bea.get(f"/ui/invoices/{own}.csv").text.startswith("date,kind,lead_id,order_id")
        for path in (f"/ui/invoices/{other}", f"/ui/invoices/{other}.pdf"):
            refused = bea.get(path)
            assert refused.status_code == 404, path
            assert NAMES["bravo"] not in refused.text
        # its draft is its own, whichever party the address names
        assert bea.get("/ui/invoices/draft", params={"party": "buyer:bravo"}).status_code == 404
        assert bea.get("/ui/invoices/draft").status_code == 200


def test_a_suppliers_user_sees_its_statement_without_buyers_or_prices(
    market: Market, issued: dict[str, Any]
) -> None:
    number = issued["numbers"]["supplier:acme"]
    forbidden = [*NAMES.values(), *PRICES.values(), "alpha_order", "bravo_order"]
    with _signed_in(market, "sam") as sam:
        for path in ("/ui/invoices", f"/ui/invoices/{number}", f"/ui/invoices/{number}.csv"):
            answer = sam.get(path)
            assert answer.status_code == 200, path
            assert not [word for word in forbidden if word in answer.text], path
        assert number in sam.get("/ui/invoices").text
        text = _pdf_text(sam.get(f"/ui/invoices/{number}.pdf").content)
        assert f"Payout statement {number}" in text
        assert not [word for word in forbidden if word in text]
        invoice = issued["numbers"]["buyer:alpha"]
        assert sam.get(f"/ui/invoices/{invoice}").status_code == 404


def test_an_analyst_reads_but_never_issues(market: Market, issued: dict[str, Any]) -> None:
    with _signed_in(market, "ana") as ana:
        number = issued["numbers"]["buyer:bravo"]
        assert NAMES["bravo"] in ana.get(f"/ui/invoices/{number}").text
        draft = ana.get("/ui/invoices/draft", params={"party": "buyer:alpha", "month": "2026-12"})
        assert draft.status_code == 200
        assert "Issue this" not in draft.text
        refused = ana.post(
            "/ui/invoices/issue",
            data={"csrf_token": csrf_token(draft.text), "party": "buyer:alpha", "month": "2026-10"},
        )
        assert refused.status_code == 403
    with _signed_in(market, "otto") as otto:
        again = _issue_from_the_page(otto, "buyer:alpha")
        assert again.status_code == 409
        assert "INV-2026-0001" in again.text
        bad = otto.get("/ui/invoices/draft", params={"party": "buyer:alpha", "from": "11/01/2026"})
        assert bad.status_code == 400
        assert "from: a date as YYYY-MM-DD" in bad.text
