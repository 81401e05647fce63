"""The admin API for one configured entity at a time, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from tests.api.market import AUTO_VERTICAL, Market, buyer, campaign, marketplace, order

BASE = "/api/v1/admin/config"


def put(market: Market, kind: str, entity_id: str, spec: Any, **params: str) -> httpx.Response:
    return market.http.put(
        f"{BASE}/{kind}/{entity_id}", json=spec, headers=market.admin, params=params
    )


def put_yaml(market: Market, kind: str, entity_id: str, text: str, **params: str) -> httpx.Response:
    return market.http.put(
        f"{BASE}/{kind}/{entity_id}",
        content=text,
        headers={**market.admin, "content-type": "application/yaml"},
        params=params,
    )


def get(market: Market, path: str) -> Any:
    answer = market.http.get(f"{BASE}/{path}", headers=market.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()


def issues(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {error["loc"][1]: error["msg"] for error in answer.json()["detail"]}


def test_each_kind_is_created_listed_read_and_replaced(market: Market) -> None:
    vertical = {k: v for k, v in AUTO_VERTICAL.items() if k != "id"}
    assert put(market, "verticals", "auto", vertical).status_code == 201
    assert put(market, "suppliers", "acme", {"name": "Acme"}).status_code == 201
    made = put(market, "campaigns", "acme_auto", campaign(), supplier_id="acme")
    assert made.status_code == 201, made.text
    assert put(market, "buyers", "shield", {"name": "Shield"}).status_code == 201
    made = put(market, "orders", "shield_fl", order("shield_fl"), buyer_id="shield")
    assert made.status_code == 201, made.text
    assert made.json()["diff"].startswith("+ order shield_fl\n1 created")

    replaced = put(market, "orders", "shield_fl", order("shield_fl", "22.50", priority=5))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["changed"] is True
    assert "pricing.exclusive 20.00 → 22.50" in replaced.json()["diff"]

    detail = get(market, "orders/shield_fl")
    assert detail["parent_id"] == "shield"
    assert detail["status"] == "active"
    assert detail["spec"]["pricing"] == {"type": "fixed", "exclusive": "22.50"}
    assert yaml.safe_load(detail["yaml"]) == detail["spec"]
    assert get(market, "buyers/shield")["children"] == ["shield_fl"]
    assert get(market, "suppliers/acme")["children"] == ["acme_auto"]
    assert [e["id"] for e in get(market, "campaigns")] == ["acme_auto"]
    assert [e["id"] for e in get(market, "verticals")] == ["auto"]
    assert get(market, "verticals/auto")["spec"]["name"] == "Auto insurance"

    # the same spec again changes nothing
    again = put(market, "orders", "shield_fl", detail["spec"])
    assert again.json()["changed"] is False
    assert again.json()["diff"] == "no changes (2 unchanged)"


def test_a_yaml_body_replaces_a_buyer_and_keeps_its_orders(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl"))]))
    answer = put_yaml(
        market, "buyers", "shield", "name: Shield Insurance\ntimezone: America/New_York\n"
    )
    assert answer.status_code == 200, answer.text
    buyer_now = get(market, "buyers/shield")
    assert buyer_now["spec"] == {
        "id": "shield",
        "name": "Shield Insurance",
        "timezone": "America/New_York",
    }
    assert buyer_now["children"] == ["shield_fl"]


def test_an_order_moves_to_another_buyer(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl")), buyer("rich")]))
    moved = put(market, "orders", "shield_fl", order("shield_fl"), buyer_id="rich")
    assert moved.status_code == 200, moved.text
    assert get(market, "orders/shield_fl")["parent_id"] == "rich"
    assert get(market, "buyers/shield")["children"] == []


def test_invalid_specs_get_the_messages_of_apply_at_entity_paths(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl"))]))
    bad = order("shield_fl", caps=[{"kind": "count", "window": "fortnight", "limit": 5}])
    bad["pricing"] = {"type": "auction"}
    found = issues(put(market, "orders", "shield_fl", bad))
    assert found["caps[0].window"].startswith("input should be 'hour', 'day'")
    assert found["pricing.type"] == "must be one of 'fixed', 'bid'"

    # a compile-time issue: an unknown vertical
    found = issues(put(market, "orders", "shield_fl", order("shield_fl", vertical="solar")))
    assert found == {"vertical": "unknown vertical 'solar'"}

    assert issues(put(market, "orders", "shield_fl", {**order("x")})) == {
        "id": "must be the id in the address"
    }
    assert issues(put(market, "orders", "new_one", order("new_one"))) == {
        "buyer_id": "required for a new order"
    }
    assert issues(put(market, "orders", "new_one", order("new_one"), buyer_id="nobody")) == {
        "buyer_id": "no buyer"
    }
    assert issues(put_yaml(market, "buyers", "shield", "name: [a\n"))[""].startswith("line 2")
    assert issues(put(market, "buyers", "shield", ["not", "a", "mapping"])) == {
        "": "must be a mapping of the entity's keys"
    }
    # nothing was written
    assert get(market, "orders/shield_fl")["spec"]["pricing"]["exclusive"] == "20.00"


def test_unknown_ids_and_kinds(market: Market) -> None:
    market.apply(marketplace([]))
    assert market.http.get(f"{BASE}/orders/nope", headers=market.admin).status_code == 404
    answer = market.http.post(f"{BASE}/buyers/nope/pause", headers=market.admin)
    assert answer.status_code == 404
    assert answer.json()["detail"]["msg"] == "no buyer 'nope'"
    assert market.http.get(f"{BASE}/widgets", headers=market.admin).status_code == 422
    assert market.http.post(f"{BASE}/verticals/auto/pause", headers=market.admin).status_code == 422
    wrong_parent = put(market, "buyers", "b", {}, supplier_id="acme")
    assert wrong_parent.status_code == 400


def test_admin_tokens_only(market: Market) -> None:
    market.apply(marketplace([]))
    assert market.http.get(f"{BASE}/buyers").status_code == 401
    seller = market.seller()
    assert market.http.get(f"{BASE}/buyers", headers=seller).status_code == 403
    assert market.http.put(f"{BASE}/buyers/x", json={}, headers=seller).status_code == 403


@pytest.mark.parametrize(
    ("kind", "entity_id", "key", "paused"),
    [
        ("orders", "shield_fl", "status", "paused"),
        ("buyers", "shield", "active", False),
        ("campaigns", "acme_auto", "active", False),
        ("suppliers", "acme", "active", False),
    ],
)
def test_pause_and_resume(
    market: Market, kind: str, entity_id: str, key: str, paused: object
) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl"))]))
    answer = market.http.post(f"{BASE}/{kind}/{entity_id}/pause", headers=market.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entity"]["status"] == "paused"
    assert answer.json()["entity"]["spec"][key] == paused
    assert get(market, kind)[0]["status"] == "paused"
    answer = market.http.post(f"{BASE}/{kind}/{entity_id}/resume", headers=market.admin)
    assert answer.json()["entity"]["status"] == "active"
    assert key not in answer.json()["entity"]["spec"]  # the default again


def winners(market: Market) -> list[str]:
    pinged = market.ping()
    assert pinged["status"] == "accepted", pinged
    return list(market.ping_trace(pinged["ping_id"])["auction"]["winners"])


def test_a_paused_order_stops_winning_the_next_ping(market: Market) -> None:
    market.apply(
        marketplace([buyer("shield", order("shield_fl", "25.00")), buyer("rich", order("rich_fl"))])
    )
    assert winners(market) == ["shield_fl"]

    market.http.post(f"{BASE}/orders/shield_fl/pause", headers=market.admin)
    assert winners(market) == ["rich_fl"]
    pinged = market.ping()
    assert market.outcomes(pinged["ping_id"])["shield_fl"] == ("paused", "order paused")

    market.http.post(f"{BASE}/orders/shield_fl/resume", headers=market.admin)
    assert winners(market) == ["shield_fl"]
