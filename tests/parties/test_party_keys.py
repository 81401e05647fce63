"""A buyer's and a supplier's own API keys over real HTTP: each reads only its own party's
things; a campaign key, another party's key, a revoked key and no key are refused; staff
and a party's user make them (the user its own only, from its portal)."""

from __future__ import annotations

import httpx

from tests.api.market import Market
from tests.parties.market import (
    ALPHA_PRICE,
    BRAVO_PRICE,
    FLORIDA,
    TEXAS,
    bearer,
    party_key,
    sell,
    two_buyers,
)
from tests.web.conftest import PASSWORD
from tests.web.session import csrf_token, sign_in


def test_a_buyer_key_reads_only_its_own_orders_and_leads(market: Market) -> None:
    market.apply(two_buyers())
    alpha_lead = sell(market, FLORIDA, "north_auto", "(305) 555-0101")
    bravo_lead = sell(market, TEXAS, "south_auto", "(305) 555-0102")
    alpha = bearer(party_key(market, "buyer", "alpha", "crm"))

    orders = market.http.get("/api/v1/buyer/orders", headers=alpha)
    assert orders.status_code == 200, orders.text
    assert [o["id"] for o in orders.json()] == ["alpha_fl"]
    assert orders.json()[0]["price"] == f"{ALPHA_PRICE} exclusive"

    leads = market.http.get("/api/v1/buyer/leads", headers=alpha)
    assert leads.status_code == 200, leads.text
    assert [lead["id"] for lead in leads.json()] == [alpha_lead]
    assert BRAVO_PRICE not in leads.text
    assert "bravo" not in leads.text

    own = market.http.get(f"/api/v1/buyer/leads/{alpha_lead}", headers=alpha)
    assert own.status_code == 200, own.text
    assert own.json()["fields"]["phone"] == "3055550101"  # it bought the PII
    # another buyer's lead is not found, as if it did not exist
    other = market.http.get(f"/api/v1/buyer/leads/{bravo_lead}", headers=alpha)
    assert other.status_code == 404
    # the key in X-Api-Key too
    by_header = {"X-Api-Key": alpha["Authorization"].removeprefix("Bearer ")}
    assert market.http.get("/api/v1/buyer/leads", headers=by_header).status_code == 200
    # the read of the lead's PII is recorded under the key
    reveals = market.http.get(
        "/api/v1/admin/audit/pii-reveals", headers=market.admin, params={"lead_id": alpha_lead}
    )
    assert reveals.json()[0]["viewer"].startswith("key:")


def test_other_kinds_of_keys_and_revoked_keys_are_refused(market: Market) -> None:
    market.apply(two_buyers())
    sell(market, FLORIDA, "north_auto", "(305) 555-0101")
    buyer_key = party_key(market, "buyer", "alpha")
    supplier_key = party_key(market, "supplier", "north")
    http = market.http

    assert http.get("/api/v1/buyer/leads").status_code == 401
    assert http.get("/api/v1/buyer/leads", headers=bearer("pt_nonsense")).status_code == 401
    campaign = http.get("/api/v1/buyer/leads", headers=market.seller("north_auto"))
    assert campaign.status_code == 403
    assert campaign.json()["detail"]["msg"] == "a buyer key is required"
    assert http.get("/api/v1/buyer/leads", headers=bearer(supplier_key)).status_code == 403
    assert http.get("/api/v1/supplier/campaigns", headers=bearer(buyer_key)).status_code == 403
    # a party key is no admin token and no seller key
    assert http.get("/api/v1/admin/leads", headers=bearer(buyer_key)).status_code == 403
    ping = http.post("/api/v1/ping", headers=bearer(buyer_key), json={"fields": FLORIDA})
    assert ping.status_code == 403
    # an admin token is let in; the buyer's views are a buyer's only
    assert http.get("/api/v1/buyer/leads", headers=market.admin).status_code == 403

    listed = http.get("/api/v1/admin/buyers/alpha/keys", headers=market.admin).json()
    (key_id,) = [k["id"] for k in listed]
    revoked = http.delete(f"/api/v1/admin/buyers/alpha/keys/{key_id}", headers=market.admin)
    assert revoked.status_code == 204
    assert http.get("/api/v1/buyer/leads", headers=bearer(buyer_key)).status_code == 401
    states = http.get("/api/v1/admin/buyers/alpha/keys", headers=market.admin).json()
    assert [k["state"] for k in states] == ["revoked"]
    # a buyer's key is not revoked through another buyer, nor made for an unknown one
    wrong = http.delete(f"/api/v1/admin/buyers/bravo/keys/{key_id}", headers=market.admin)
    assert wrong.status_code == 404
    unknown = http.post("/api/v1/admin/buyers/nobody/keys", headers=market.admin, json={})
    assert unknown.status_code == 404
    control = http.post(
        "/api/v1/admin/buyers/alpha/keys", headers=market.admin, json={"name": "a\x00b"}
    )
    assert control.status_code == 422


def test_a_supplier_key_reads_only_its_own_campaigns(market: Market) -> None:
    market.apply(two_buyers())
    north = bearer(party_key(market, "supplier", "north"))
    answer = market.http.get("/api/v1/supplier/campaigns", headers=north)
    assert answer.status_code == 200, answer.text
    assert [c["id"] for c in answer.json()["campaigns"]] == ["north_auto"]
    assert "south" not in answer.text
    figures = market.http.get("/api/v1/supplier/figures", headers=north, params={"days": 2})
    assert figures.status_code == 200, figures.text


def _user(market: Market, username: str, role: str, **binding: str) -> None:
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={"username": username, "role": role, "password": PASSWORD, **binding},
    )
    assert made.status_code == 201, made.text


def test_a_buyer_user_makes_and_revokes_its_own_keys_in_its_portal(market: Market) -> None:
    market.apply(two_buyers())
    alpha_lead = sell(market, FLORIDA, "north_auto", "(305) 555-0101")
    party_key(market, "buyer", "bravo", "bravo-secret-name")
    _user(market, "bea", "buyer", buyer_id="alpha")
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, "bea").status_code == 303
        page = http.get("/ui/party-keys")
        assert page.status_code == 200, page.text
        assert "bravo" not in page.text
        token = csrf_token(page.text)
        # another buyer's party is refused as unknown; nothing is made
        refused = http.post(
            "/ui/party-keys", data={"csrf_token": token, "party": "buyer:bravo", "name": "x"}
        )
        assert refused.status_code == 404
        made = http.post(
            "/ui/party-keys", data={"csrf_token": token, "party": "buyer:alpha", "name": "crm"}
        )
        assert made.status_code == 200, made.text
        (key,) = [w for w in made.text.split('"') if w.startswith("pt_") and len(w) > 40]
        # shown once: the list shows only its id
        assert key not in http.get("/ui/party-keys").text
        leads = market.http.get("/api/v1/buyer/leads", headers=bearer(key))
        assert [lead["id"] for lead in leads.json()] == [alpha_lead]

        key_id = key.split("_")[1]
        revoked = http.post(
            f"/ui/party-keys/{key_id}/revoke", data={"csrf_token": token, "party": "buyer:alpha"}
        )
        assert revoked.status_code == 303
        assert market.http.get("/api/v1/buyer/leads", headers=bearer(key)).status_code == 401


def test_staff_who_operate_make_party_keys_and_an_analyst_only_reads_them(
    market: Market,
) -> None:
    market.apply(two_buyers())
    _user(market, "otto", "operator")
    _user(market, "ana", "analyst")
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, "otto").status_code == 303
        token = csrf_token(http.get("/ui/party-keys").text)
        made = http.post(
            "/ui/party-keys", data={"csrf_token": token, "party": "supplier:south", "name": "s"}
        )
        assert made.status_code == 200, made.text
        assert "New supplier key" in made.text
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, "ana").status_code == 303
        page = http.get("/ui/party-keys")
        assert "supplier: south" in page.text
        refused = http.post(
            "/ui/party-keys",
            data={"csrf_token": csrf_token(page.text), "party": "supplier:south"},
        )
        assert refused.status_code == 403
