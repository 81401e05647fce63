"""Campaign keys through the admin API: create with a name, list (never a secret), last use
recorded, rotation with an overlap window on the test clock, revocation at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.market import PING, Market, buyer, marketplace, order

KEYS = "/api/v1/admin/campaigns/acme_auto/keys"


def _ping(market: Market, token: str) -> int:
    answer = market.http.post(
        "/api/v1/ping", json={"fields": PING}, headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status_code


def _keys(market: Market) -> dict[str, dict[str, Any]]:
    answer = market.http.get(KEYS, headers=market.admin)
    assert answer.status_code == 200, answer.text
    return {row["id"]: row for row in answer.json()}


def _create(market: Market, name: str) -> dict[str, Any]:
    answer = market.http.post(KEYS, json={"name": name}, headers=market.admin)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_a_named_key_is_listed_without_its_secret_and_its_use_recorded(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    created = _create(market, "production")
    token = created["api_key"]
    assert created["name"] == "production"
    assert token.startswith(f"pt_{created['id']}_")

    listed = _keys(market)[created["id"]]
    assert listed["name"] == "production"
    assert listed["state"] == "active"
    assert listed["last_used_at"] is None
    # the whole secret (it may hold "_" itself: a fragment of it could be anywhere)
    secret = token.removeprefix(f"pt_{created['id']}_")
    assert secret not in market.http.get(KEYS, headers=market.admin).text

    assert _ping(market, token) == 200
    used = _keys(market)[created["id"]]["last_used_at"]
    assert dt.datetime.fromisoformat(used) == market.clock.now()


def test_a_rotated_key_works_until_its_overlap_ends(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    old = _create(market, "site")
    assert _ping(market, old["api_key"]) == 200  # now remembered by the key checker

    answer = market.http.post(
        f"{KEYS}/{old['id']}/rotate", json={"overlap_hours": 24}, headers=market.admin
    )
    assert answer.status_code == 201, answer.text
    new = answer.json()
    assert new["name"] == "site"
    assert new["id"] != old["id"]
    ends = market.clock.now() + dt.timedelta(hours=24)
    assert dt.datetime.fromisoformat(new["replaces"]["expires_at"]) == ends

    market.clock.advance(hours=23, minutes=59)
    assert _ping(market, old["api_key"]) == 200
    assert _ping(market, new["api_key"]) == 200
    assert _keys(market)[old["id"]]["state"] == "expiring"

    market.clock.advance(minutes=1)
    assert _ping(market, old["api_key"]) == 401
    assert _ping(market, new["api_key"]) == 200
    assert _keys(market)[old["id"]]["state"] == "expired"
    # an expired key has no successor
    again = market.http.post(f"{KEYS}/{old['id']}/rotate", json={}, headers=market.admin)
    assert again.status_code == 404


def test_a_revoked_key_stops_at_once(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    key = _create(market, "old partner")
    assert _ping(market, key["api_key"]) == 200  # remembered by the key checker

    answer = market.http.delete(f"{KEYS}/{key['id']}", headers=market.admin)
    assert answer.status_code == 204
    assert _ping(market, key["api_key"]) == 401
    assert _keys(market)[key["id"]]["state"] == "revoked"


def test_keys_of_unknown_campaigns_or_others_keys_are_404(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    key = _create(market, "")
    unknown = "/api/v1/admin/campaigns/nope/keys"
    assert market.http.get(unknown, headers=market.admin).status_code == 404
    assert market.http.post(unknown, json={}, headers=market.admin).status_code == 404
    other = f"{unknown}/{key['id']}"
    assert market.http.delete(other, headers=market.admin).status_code == 404
    assert _ping(market, key["api_key"]) == 200
    # the overlap is bounded: a month at most, never negative
    for hours in (-1, 24 * 31):
        answer = market.http.post(
            f"{KEYS}/{key['id']}/rotate", json={"overlap_hours": hours}, headers=market.admin
        )
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"] == ["body", "overlap_hours"]
    # a campaign key is no admin token
    seller = {"Authorization": f"Bearer {key['api_key']}"}
    assert market.http.get(KEYS, headers=seller).status_code == 403
