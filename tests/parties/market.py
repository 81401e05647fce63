"""Two buyers and two suppliers trading through a real pingtree, for the party API tests.

Alpha buys Florida leads, Bravo Texas ones; the buyers collect them (no delivery step), so a
direct post sells at once. North and South each sell through one campaign.
"""

from __future__ import annotations

from typing import Any

from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order

ALPHA_PRICE, BRAVO_PRICE = "41.17", "37.23"
FLORIDA = {**PING, "state": "FL", "zip": "33101"}
TEXAS = {**PING, "state": "TX", "zip": "75001"}


def _state(state: str) -> dict[str, Any]:
    return {"filters": {"all": [{"field": "state", "op": "eq", "value": state}]}}


def two_buyers(**vertical: Any) -> dict[str, Any]:
    """The configuration: ``vertical`` adds to the auto vertical (its dispositions)."""
    alpha = buyer("alpha", order("alpha_fl", ALPHA_PRICE, **_state("FL")), name="Alpha Ins")
    bravo = buyer("bravo", order("bravo_tx", BRAVO_PRICE, **_state("TX")), name="Bravo Cov")
    config = marketplace([alpha, bravo])
    config["verticals"][0].update(vertical)
    config["suppliers"] = [
        {"id": "north", "name": "North Media", "campaigns": [campaign("north_auto")]},
        {"id": "south", "name": "South Media", "campaigns": [campaign("south_auto")]},
    ]
    return config


def sell(market: Market, fields: dict[str, Any], campaign_id: str, phone: str, **extra: Any) -> str:
    """Direct-post one lead and return its id; it must sell."""
    answer = market.direct_post(
        {**fields, **CONTACT, "phone": phone, **extra}, campaign_id=campaign_id
    )
    assert answer["status"] == "sold", answer
    return str(answer["lead_id"])


def party_key(market: Market, role: str, party_id: str, name: str = "") -> str:
    """A new key of the buyer or supplier, made by the admin API."""
    made = market.http.post(
        f"/api/v1/admin/{role}s/{party_id}/keys", headers=market.admin, json={"name": name}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["api_key"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
