"""The returns and accounts pages over real HTTP: a buyer's user asks for a lead's money back
from its bought lead's page, an operator approves or denies it from the queue (an analyst
only reads), the buyer is credited and the supplier charged back, and each side's pages show
it; staff return a sale from the lead page; top-ups and adjustments with their refusals.

Alpha buys Florida leads (Alpha Insurance Co, 41.17 a lead, returnable for 7 days) from the
supplier Acme, paid 70 %; the two leads are posted to mock buyers on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import PING, Market
from tests.support.buyers import running_buyers
from tests.web.conftest import PASSWORD
from tests.web.session import csrf_token, sign_in
from tests.web.test_buyer_portal import (
    ALPHA_PEOPLE,
    ALPHA_PRICE,
    ENDPOINTS,
    buyer_user,
    buyers_config,
    sold_to,
)

ALPHA_NAME = "Alpha Insurance Co"
#: what Acme is paid of Alpha's price (70 %, rounded down), charged back on a return
ALPHA_PAYOUT = "28.81"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(ENDPOINTS) as running:
        yield running


def returns_config(mock: MockBuyer, window_days: int = 7) -> dict[str, Any]:
    """The buyer portal's market, Alpha's Florida order returnable for ``window_days``."""
    config = buyers_config(mock)
    for spec in config["buyers"]:
        for order in spec["orders"]:
            order["return_window_days"] = window_days if order["id"] == "alpha_fl" else 0
    return config


def supplier_user(market: Market, username: str, supplier_id: str = "acme") -> None:
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={
            "username": username,
            "role": "supplier",
            "password": PASSWORD,
            "supplier_id": supplier_id,
        },
    )
    assert made.status_code == 201, made.text


@pytest.fixture
def bought(market: Market, mock: MockBuyer) -> list[str]:
    """Alpha bought two Florida leads; its user bea, Bravo's bob, Acme's sam."""
    market.apply(returns_config(mock))
    leads = [sold_to(market, PING, person) for person in ALPHA_PEOPLE]
    assert [taker for _, taker in leads] == ["alpha", "alpha"]
    buyer_user(market, "bea", "alpha")
    buyer_user(market, "bob", "bravo")
    supplier_user(market, "sam")
    return [lead_id for lead_id, _ in leads]


@contextmanager
def signed_in(market: Market, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, username).status_code == 303
        yield http


def _row(html: str, lead_id: str) -> str:
    """The queue's row of ``lead_id``'s return."""
    rows: list[str] = [
        row for row in re.findall(r"<tr id=\"return-.*?</tr>", html, re.S) if lead_id in row
    ]
    assert len(rows) == 1, html
    return rows[0]


def _return_id(html: str, lead_id: str) -> str:
    found = re.search(r'id="return-([^"]+)"', _row(html, lead_id))
    assert found
    return found.group(1)


def test_a_buyer_asks_from_its_lead_page_and_an_operator_approves_it(
    market: Market, bought: list[str]
) -> None:
    lead_id = bought[0]
    with signed_in(market, "bea") as bea:
        page = bea.get(f"/ui/bought-leads/{lead_id}")
        assert page.status_code == 200
        assert "Request a return" in page.text
        assert "Wrong or disconnected number" in page.text  # the vertical's reasons
        token = csrf_token(page.text)
        # a reason that is none of the vertical's: refused, naming the field
        wrong = bea.post(
            f"/ui/bought-leads/{lead_id}/return",
            data={"csrf_token": token, "reason": "bored"},
        )
        assert wrong.status_code == 422
        assert "reason: must be one of: wrong_number" in wrong.text
        asked = bea.post(
            f"/ui/bought-leads/{lead_id}/return",
            data={"csrf_token": token, "reason": "wrong_number", "comment": "disconnected"},
        )
        assert asked.status_code == 303
        assert asked.headers["location"] == f"/ui/bought-leads/{lead_id}#return"
        asked_page = bea.get(f"/ui/bought-leads/{lead_id}").text
        assert "Request a return" not in asked_page
        assert "Waiting for the operator" in asked_page
        again = bea.post(
            f"/ui/bought-leads/{lead_id}/return",
            data={"csrf_token": token, "reason": "wrong_number"},
        )
        assert again.status_code == 409
        assert "requested already" in again.text
        mine = bea.get("/ui/returns").text
        assert "disconnected" in _row(mine, lead_id)
        assert ALPHA_PAYOUT not in mine  # the supplier's side is never the buyer's

    with signed_in(market, "bob") as bob:  # another buyer: not its lead, nor its return
        assert lead_id not in bob.get("/ui/returns").text
        token = csrf_token(bob.get("/ui/returns").text)
        stranger = bob.post(
            f"/ui/bought-leads/{bought[1]}/return",
            data={"csrf_token": token, "reason": "wrong_number"},
        )
        assert stranger.status_code == 404

    with signed_in(market, "ana") as ana:  # the analyst reads the queue, decides nothing
        ana_queue = ana.get("/ui/returns")
        row = _row(ana_queue.text, lead_id)
        for shown in ("alpha", "alpha_fl", "acme_auto", "wrong_number", ALPHA_PRICE, "user:"):
            assert shown in row, shown
        assert "/approve" not in ana_queue.text
        refused = ana.post(
            f"/ui/returns/{_return_id(ana_queue.text, lead_id)}/approve",
            data={"csrf_token": csrf_token(ana_queue.text)},
        )
        assert refused.status_code == 403

    with signed_in(market, "otto") as otto:
        queue = otto.get("/ui/returns").text
        return_id = _return_id(queue, lead_id)
        approved = otto.post(
            f"/ui/returns/{return_id}/approve",
            data={"csrf_token": csrf_token(queue), "note": "checked the number"},
        )
        assert (approved.status_code, approved.headers["location"]) == (303, "/ui/returns")
        assert lead_id not in otto.get("/ui/returns").text  # the queue: requested ones only
        decided = _row(otto.get("/ui/returns?status=approved").text, lead_id)
        assert "checked the number" in decided
        assert ALPHA_PAYOUT in decided  # charged back
        twice = otto.post(
            f"/ui/returns/{return_id}/approve", data={"csrf_token": csrf_token(queue)}
        )
        assert twice.status_code == 409
        lead = otto.get(f"/ui/leads/{lead_id}").text
        assert f"Credited {ALPHA_PRICE} to alpha" in lead

    with signed_in(market, "bea") as bea:
        row = _row(bea.get("/ui/returns").text, lead_id)
        assert "approved" in row
        assert ALPHA_PRICE in row
        account = bea.get("/ui/my-account")
        assert account.status_code == 200
        assert re.search(
            rf"return</span></td>\s*<td class=\"num\">{ALPHA_PRICE}</td>", account.text
        )
        assert ALPHA_PAYOUT not in account.text
        nav = re.findall(r'<nav aria-label="Sections">(.*?)</nav>', account.text, re.S)[0]
        assert "/ui/returns" in nav
        assert "/ui/my-account" in nav
        assert "/ui/accounts" not in nav
        assert bea.get("/ui/accounts").status_code == 403
        assert bea.get("/ui/accounts/buyer/alpha").status_code == 403

    with signed_in(market, "sam") as sam:  # the supplier: its lead returned, no buyer, no price
        returns = sam.get("/ui/returns")
        assert returns.status_code == 200
        row = _row(returns.text, lead_id)
        assert "approved" in row
        assert ALPHA_PAYOUT in row
        sam_account = sam.get("/ui/my-account").text
        assert re.search(
            rf"chargeback</span></td>\s*<td class=\"num\">-{ALPHA_PAYOUT}</td>", sam_account
        )
        lead = sam.get(f"/ui/leads/{lead_id}").text
        assert f"Charged back {ALPHA_PAYOUT}" in lead
        for shown_page in (returns.text, sam_account, lead):
            for word in (ALPHA_NAME, ALPHA_PRICE, "alpha_fl", "disconnected"):
                assert word not in shown_page, word


def test_an_operator_returns_a_sale_from_the_lead_page_and_a_denial_needs_a_reason(
    market: Market, bought: list[str]
) -> None:
    lead_id = bought[1]
    with signed_in(market, "ana") as ana:  # an analyst is shown no form
        assert "Return this sale" not in ana.get(f"/ui/leads/{lead_id}").text
    with signed_in(market, "otto") as otto:
        page = otto.get(f"/ui/leads/{lead_id}").text
        assert "Return this sale" in page
        sale_id = re.findall(r'<option value="([^"]+)">alpha · alpha_fl', page)[0]
        asked = otto.post(
            f"/ui/leads/{lead_id}/returns",
            data={"csrf_token": csrf_token(page), "sale_id": sale_id, "reason": "no_consent"},
        )
        assert (asked.status_code, asked.headers["location"]) == (
            303,
            f"/ui/leads/{lead_id}#returns",
        )
        queue = otto.get("/ui/returns").text
        assert "no_consent" in _row(queue, lead_id)
        return_id = _return_id(queue, lead_id)
        bare = otto.post(f"/ui/returns/{return_id}/deny", data={"csrf_token": csrf_token(queue)})
        assert bare.status_code == 422
        assert "note: say why" in bare.text
        denied = otto.post(
            f"/ui/returns/{return_id}/deny",
            data={"csrf_token": csrf_token(queue), "note": "the consent is on file"},
        )
        assert denied.status_code == 303
        assert "the consent is on file" in otto.get("/ui/returns?status=denied").text
        # a page of older ones: those before the one named, and a way back to the newest
        older = otto.get(f"/ui/returns?status=all&before={return_id}").text
        assert lead_id not in older
        assert "« Newest" in older
        assert otto.get("/ui/returns?status=gone").status_code == 400
    with signed_in(market, "bea") as bea:
        page = bea.get(f"/ui/bought-leads/{lead_id}").text
        assert "Denied: the consent is on file" in page
        assert "Request a return" not in page  # one claim a sale
        assert "denied" in _row(bea.get("/ui/returns").text, lead_id)


def test_a_closed_window_shows_no_form_and_refuses_the_buyer(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(returns_config(mock, window_days=0))
    lead_id, taker = sold_to(market, PING, ALPHA_PEOPLE[0])
    assert taker == "alpha"
    buyer_user(market, "bea", "alpha")
    market.clock.advance(seconds=60)  # a window of 0 days closes at the sale
    with signed_in(market, "bea") as bea:
        page = bea.get(f"/ui/bought-leads/{lead_id}").text
        assert "Request a return" not in page
        assert "The return window of this lead is closed." in page
        late = bea.post(
            f"/ui/bought-leads/{lead_id}/return",
            data={"csrf_token": csrf_token(page), "reason": "wrong_number"},
        )
        assert late.status_code == 409
        assert "has closed" in late.text
    with signed_in(market, "otto") as otto:  # the window binds buyers, not the operator
        assert "Return this sale" in otto.get(f"/ui/leads/{lead_id}").text


def test_an_operator_tops_up_and_adjusts_accounts_and_bad_input_is_named(
    market: Market, bought: list[str]
) -> None:
    with signed_in(market, "otto") as otto:
        listing = otto.get("/ui/accounts")
        assert listing.status_code == 200
        assert "/ui/accounts/buyer/alpha" in listing.text
        assert "/ui/accounts/supplier/acme" in listing.text
        # linked from the buyer's and the supplier's pages
        assert "/ui/accounts/buyer/alpha" in otto.get("/ui/buyers/alpha").text
        assert "/ui/accounts/supplier/acme" in otto.get("/ui/suppliers/acme").text
        page = otto.get("/ui/accounts/buyer/alpha").text
        token = csrf_token(page)
        assert f"-{ALPHA_PRICE}" in page  # the two sales
        typo = otto.post(
            "/ui/accounts/buyer/alpha/top-up", data={"csrf_token": token, "amount": "12.3.4"}
        )
        assert typo.status_code == 422
        assert "amount: must be a number" in typo.text
        assert 'value="12.3.4"' in typo.text  # the input kept
        cents = otto.post(
            "/ui/accounts/buyer/alpha/top-up", data={"csrf_token": token, "amount": "1.005"}
        )
        assert cents.status_code == 422
        assert "amount: must be whole cents" in cents.text
        paid = otto.post(
            "/ui/accounts/buyer/alpha/top-up",
            data={"csrf_token": token, "amount": "500.00", "note": "wire 42"},
        )
        assert (paid.status_code, paid.headers["location"]) == (303, "/ui/accounts/buyer/alpha")
        page = otto.get("/ui/accounts/buyer/alpha").text
        assert "wire 42" in page
        balance = 50000 - 2 * int(ALPHA_PRICE.replace(".", ""))
        assert f"<dd>{balance // 100}.{balance % 100:02d}</dd>" in page

        unexplained = otto.post(
            "/ui/accounts/supplier/acme/adjust", data={"csrf_token": token, "amount": "-10.00"}
        )
        assert unexplained.status_code == 422
        assert "note: say why" in unexplained.text
        adjusted = otto.post(
            "/ui/accounts/supplier/acme/adjust",
            data={"csrf_token": token, "amount": "-10.00", "note": "paid by cheque"},
        )
        assert adjusted.status_code == 303
        page = otto.get("/ui/accounts/supplier/acme").text
        assert re.search(r"adjustment</span></td>\s*<td class=\"num\">-10.00</td>", page)
        # the entries' dates: nothing from tomorrow on
        tomorrow = market.clock.now().date() + dt.timedelta(days=1)
        later = otto.get(f"/ui/accounts/supplier/acme?from={tomorrow}")
        assert "No entries in these dates." in later.text
        assert otto.get("/ui/accounts/supplier/acme?from=tomorrow").status_code == 400
        assert otto.get("/ui/accounts/supplier/nobody").status_code == 404
    with signed_in(market, "ana") as ana:  # the analyst reads, moves nothing
        read_only = ana.get("/ui/accounts/buyer/alpha")
        assert read_only.status_code == 200
        assert "Record top-up" not in read_only.text
        refused = ana.post(
            "/ui/accounts/buyer/alpha/top-up",
            data={"csrf_token": csrf_token(read_only.text), "amount": "5.00"},
        )
        assert refused.status_code == 403
