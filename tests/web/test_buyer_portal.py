"""The buyer portal over real HTTP: a buyer's user's orders with cap use and schedules,
pausing and resuming them in the live auction, its bought leads with their PII, and the CSV.

Two buyers buy Florida leads through a real market, their leads posted to mock buyers on
127.0.0.1. Alpha's refusing order buys Texas leads first and rejects them: those fall to
Bravo and are never Alpha's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import CONTACT, PING, Market, buyer, marketplace, order
from tests.support.buyers import running_buyers
from tests.web.conftest import PASSWORD
from tests.web.session import csrf_token, sign_in

_TAKES = {"check_token": False}
ENDPOINTS: dict[str, dict[str, Any]] = {
    "alpha": _TAKES,
    "alpha_no": {**_TAKES, "post_accept_rate": 0.0, "reject_reason": "outside our area"},
    "bravo": _TAKES,
}
ALPHA_PRICE = "41.17"
BRAVO_PRICE = "37.23"
#: what a supplier is paid of Alpha's price (70 %) and the margin: never shown to Alpha
ALPHA_PAYOUT, ALPHA_MARGIN = "28.82", "12.35"
TEXAS = {**PING, "state": "TX", "zip": "75001"}
NINE_TO_FIVE = {"timezone": "America/New_York", "hours": {"daily": ["09:00-17:00"]}}
#: the consumers of the leads Alpha buys, and of the one it rejects
ALPHA_PEOPLE = [
    {"first_name": "Zebulon", "phone": "(305) 555-0101", "email": "zeb@example.org"},
    {"first_name": "Yolanda", "phone": "(305) 555-0102", "email": "yol@example.org"},
]
REJECTED_PERSON = {"first_name": "Xavier", "phone": "(305) 555-0103", "email": "xav@example.org"}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(ENDPOINTS) as running:
        yield running


def _posting(mock: MockBuyer, endpoint: str, order_id: str, price: str, **spec: Any) -> Any:
    step = {
        "url": mock.post_url(endpoint),
        "content_type": "json",
        "timeout_ms": 2000,
        "body": {"fields": [{"from": n, "to": n} for n in ("zip", "first_name", "phone", "email")]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    return order(order_id, price, delivery={"post": step}, **spec)


def _state(state: str) -> dict[str, Any]:
    return {"filters": {"all": [{"field": "state", "op": "eq", "value": state}]}}


def buyers_config(mock: MockBuyer) -> dict[str, Any]:
    alpha = buyer(
        "alpha",
        _posting(
            mock,
            "alpha",
            "alpha_fl",
            ALPHA_PRICE,
            caps=[{"kind": "count", "window": "day", "limit": 50}],
            schedule=NINE_TO_FIVE,
            **_state("FL"),
        ),
        _posting(mock, "alpha_no", "alpha_tx", "50.00", **_state("TX")),
        name="Alpha Insurance Co",
    )
    bravo = buyer(
        "bravo",
        _posting(mock, "bravo", "bravo_fl", BRAVO_PRICE, **_state("FL")),
        _posting(mock, "bravo", "bravo_tx", "30.00", **_state("TX")),
        name="Bravo Coverage LLC",
    )
    return marketplace([alpha, bravo])


def sold_to(market: Market, fields: dict[str, Any], person: dict[str, Any]) -> tuple[str, str]:
    """Sell one lead; its id and the buyer whose sale stands."""
    answer = market.sell({**fields, **person})
    assert answer["status"] == "sold", answer
    sales = market.lead(answer["lead_id"])["sales"]
    (standing,) = [s["buyer_id"] for s in sales if s["status"] == "sold"]
    return answer["lead_id"], standing


def buyer_user(market: Market, username: str, buyer_id: str) -> None:
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={"username": username, "role": "buyer", "password": PASSWORD, "buyer_id": buyer_id},
    )
    assert made.status_code == 201, made.text


@pytest.fixture
def sold(market: Market, mock: MockBuyer) -> dict[str, Any]:
    """Alpha bought two Florida leads and rejected a Texas one (Bravo's now)."""
    market.apply(buyers_config(mock))
    alpha = [sold_to(market, PING, p) for p in ALPHA_PEOPLE]
    assert [b for _, b in alpha] == ["alpha", "alpha"]
    rejected, taker = sold_to(market, TEXAS, REJECTED_PERSON)
    assert taker == "bravo"
    assert {s["buyer_id"]: s["status"] for s in market.lead(rejected)["sales"]} == {
        "alpha": "rejected",
        "bravo": "sold",
    }
    buyer_user(market, "bea", "alpha")
    buyer_user(market, "bob", "bravo")
    return {"alpha": [lead_id for lead_id, _ in alpha], "rejected": rejected}


@contextmanager
def _signed_in(market: Market, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, username).status_code == 303
        yield http


def test_the_buyer_sees_its_orders_cap_use_and_schedule_only(
    market: Market, sold: dict[str, Any]
) -> None:
    with _signed_in(market, "bea") as http:
        page = http.get("/ui/my-orders")
        assert page.status_code == 200, page.text
        text = page.text
        assert "alpha_fl" in text
        assert "alpha_tx" in text
        assert f"{ALPHA_PRICE} exclusive" in text
        assert "Mon–Sun 09:00–17:00 (America/New_York)" in text
        # two leads sold to alpha_fl today, of 50
        assert re.search(
            r'<td class="num">2</td>\s*<td class="num">0</td>\s*<td class="num">50</td>', text
        )
        for word in ("bravo", "Bravo Coverage", BRAVO_PRICE, ALPHA_PAYOUT, ALPHA_MARGIN):
            assert word not in text
        nav = re.findall(r'<nav aria-label="Sections">(.*?)</nav>', text, re.S)[0]
        assert "/ui/my-orders" in nav
        assert "/ui/bought-leads" in nav
    # staff and the other buyer's user: not this portal's orders
    with _signed_in(market, "ada") as http:
        assert http.get("/ui/my-orders").status_code == 403
        assert "/ui/my-orders" not in http.get("/ui/leads").text
    with _signed_in(market, "bob") as http:
        text = http.get("/ui/my-orders").text
        assert "bravo_fl" in text
        assert "alpha" not in text
        assert ALPHA_PRICE not in text


def test_pausing_and_resuming_through_the_portal_stops_and_starts_the_order(
    market: Market, sold: dict[str, Any]
) -> None:
    with _signed_in(market, "bea") as http:
        token = csrf_token(http.get("/ui/my-orders").text)
        # another buyer's order and a missing CSRF token are refused; nothing changes
        refused = http.post("/ui/my-orders/bravo_fl/pause", data={"csrf_token": token})
        assert refused.status_code == 403
        assert http.post("/ui/my-orders/alpha_fl/pause").status_code in (400, 403)
        assert sold_to(market, PING, {**CONTACT, "phone": "(305) 555-0111"})[1] == "alpha"

        paused = http.post("/ui/my-orders/alpha_fl/pause", data={"csrf_token": token})
        assert (paused.status_code, paused.headers["location"]) == (303, "/ui/my-orders")
        assert "Resume order alpha_fl" in http.get("/ui/my-orders").text
        assert _status(market, "alpha_fl") == "paused"  # the stored configuration's
        assert sold_to(market, PING, {**CONTACT, "phone": "(305) 555-0112"})[1] == "bravo"

        resumed = http.post("/ui/my-orders/alpha_fl/resume", data={"csrf_token": token})
        assert resumed.status_code == 303
        assert sold_to(market, PING, {**CONTACT, "phone": "(305) 555-0113"})[1] == "alpha"
    assert (_status(market, "alpha_fl"), _status(market, "bravo_fl")) == ("active", "active")


def _status(market: Market, order_id: str) -> str:
    stored = market.http.get(f"/api/v1/admin/config/orders/{order_id}", headers=market.admin)
    assert stored.status_code == 200, stored.text
    return str(stored.json()["status"])


def test_the_bought_leads_show_their_pii_and_the_export_holds_exactly_them(
    market: Market, sold: dict[str, Any]
) -> None:
    alpha_leads, rejected = sold["alpha"], sold["rejected"]
    with _signed_in(market, "bea") as http:
        listed = http.get("/ui/bought-leads").text
        for lead_id in alpha_leads:
            assert lead_id in listed
        assert rejected not in listed
        assert "Zebulon" not in listed  # the list holds no PII: opening a lead does
        page = http.get(f"/ui/bought-leads/{alpha_leads[0]}")
        assert page.status_code == 200
        shown = {p["first_name"] for p in ALPHA_PEOPLE if p["first_name"] in page.text}
        assert len(shown) == 1
        assert ALPHA_PAYOUT not in page.text
        assert "Bravo" not in page.text
        assert http.get(f"/ui/bought-leads/{rejected}").status_code == 404
        # the search by email, through its HMAC: the URL never carries the address
        found = http.get(
            "/ui/bought-leads", params={"email": "YOL@example.org"}, follow_redirects=True
        )
        assert "yol@" not in str(found.url)
        assert "person=" in str(found.url)
        assert [i for i in alpha_leads if i in found.text] == [alpha_leads[1]]
        xavier = http.get(
            "/ui/bought-leads", params={"email": "xav@example.org"}, follow_redirects=True
        )
        assert "No lead bought matches" in xavier.text
        assert rejected not in xavier.text
        bad = http.get("/ui/bought-leads", params={"email": "not an email"})
        assert bad.status_code == 422
        assert "email" in bad.text

        export = http.get("/ui/bought-leads.csv")
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted(r["lead_id"] for r in rows) == sorted(alpha_leads)
    assert {r["email"] for r in rows} == {p["email"] for p in ALPHA_PEOPLE}
    assert {r["first_name"] for r in rows} == {p["first_name"] for p in ALPHA_PEOPLE}
    assert {(r["order_id"], r["price"]) for r in rows} == {("alpha_fl", ALPHA_PRICE)}
    for word in ("Xavier", "bravo", BRAVO_PRICE, ALPHA_PAYOUT, ALPHA_MARGIN):
        assert word not in export.text
    # every lead shown or exported with its PII is in the audit trail, under the user
    reveals = market.http.get(
        "/api/v1/admin/audit/pii-reveals", headers=market.admin, params={"limit": 100}
    )
    assert reveals.status_code == 200, reveals.text
    audited = [(r["lead_id"], r["viewer"].split(":")[0]) for r in reveals.json()]
    assert audited.count((alpha_leads[0], "user")) == 2  # opened once, exported once
    assert audited.count((alpha_leads[1], "user")) == 1  # exported
    assert rejected not in {lead_id for lead_id, _ in audited}


def test_the_portal_is_a_buyers_users_only(market: Market, sold: dict[str, Any]) -> None:
    with _signed_in(market, "otto") as http:
        token = csrf_token(http.get("/ui/leads").text)
        for url in ("/ui/my-orders", "/ui/bought-leads", "/ui/bought-leads.csv"):
            assert http.get(url).status_code == 403, url
        assert http.get(f"/ui/bought-leads/{sold['alpha'][0]}").status_code == 403
        # an operator pauses through the config pages, not a buyer's portal
        assert (
            http.post("/ui/my-orders/alpha_fl/pause", data={"csrf_token": token}).status_code == 403
        )
    with _signed_in(market, "bob") as http:
        assert http.get(f"/ui/bought-leads/{sold['alpha'][0]}").status_code == 404
        rows = list(csv.DictReader(io.StringIO(http.get("/ui/bought-leads.csv").text)))
        assert sold["alpha"][0] not in {r["lead_id"] for r in rows}
        assert sold["rejected"] in {r["lead_id"] for r in rows}
