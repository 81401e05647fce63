"""Every malformed request gets a 4xx naming each offending field and why; never a 500,
and nothing is half-written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.market import CONTACT, PING, Market, buyer, marketplace, order


@pytest.fixture
def ready(market: Market) -> Market:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    return market


def _locs(response: Any) -> dict[tuple[Any, ...], str]:
    return {tuple(e["loc"]): e["type"] for e in response.json()["detail"]}


def _nothing_stored(market: Market) -> None:
    for what in ("pings", "leads", "sales"):
        assert market.http.get(f"/api/v1/admin/{what}", headers=market.admin).json() == []


def test_wrong_content_type(ready: Market) -> None:
    response = ready.http.post(
        "/api/v1/ping",
        content=b"zip=33101",
        headers={**ready.seller(), "content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["detail"]["type"] == "content_type"


def test_malformed_json(ready: Market) -> None:
    response = ready.http.post(
        "/api/v1/ping",
        content=b'{"fields": {',
        headers={**ready.seller(), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]["msg"]
    _nothing_stored(ready)


def test_json_that_is_not_an_object(ready: Market) -> None:
    response = ready.http.post("/api/v1/ping", json=["zip", "33101"], headers=ready.seller())
    assert response.status_code == 422
    assert _locs(response) == {("body",): "type_error"}


def test_unknown_fields_at_both_levels(ready: Market) -> None:
    response = ready.http.post(
        "/api/v1/ping",
        json={"fields": {**PING, "shoe_size": 44}, "zip": "33101"},
        headers=ready.seller(),
    )
    assert response.status_code == 422
    assert _locs(response) == {("body", "zip"): "unknown_field"}
    response = ready.http.post(
        "/api/v1/ping", json={"fields": {**PING, "shoe_size": 44}}, headers=ready.seller()
    )
    assert response.status_code == 422
    assert _locs(response) == {("body", "fields", "shoe_size"): "unknown_field"}
    _nothing_stored(ready)


def test_wrong_types_are_all_reported(ready: Market) -> None:
    response = ready.http.post(
        "/api/v1/ping",
        json={
            "fields": {"zip": "3310", "state": "Atlantis", "age": "old", "credit": "meh"},
            "test": "maybe",
        },
        headers=ready.seller(),
    )
    assert response.status_code == 422
    locs = _locs(response)
    assert set(locs) == {("body", "test")}  # the envelope is checked before the fields
    response = ready.http.post(
        "/api/v1/ping",
        json={"fields": {"zip": "3310", "state": "Atlantis", "age": "old", "credit": "meh"}},
        headers=ready.seller(),
    )
    assert set(_locs(response)) == {
        ("body", "fields", "zip"),
        ("body", "fields", "state"),
        ("body", "fields", "age"),
        ("body", "fields", "credit"),
    }
    for error in response.json()["detail"]:
        assert error["msg"]
    _nothing_stored(ready)


def test_missing_required_fields(ready: Market) -> None:
    response = ready.http.post("/api/v1/ping", json={"fields": {"age": 30}}, headers=ready.seller())
    assert response.status_code == 422
    assert _locs(response) == {
        ("body", "fields", "zip"): "missing",
        ("body", "fields", "state"): "missing",
    }
    response = ready.http.post("/api/v1/leads", json={"fields": PING}, headers=ready.seller())
    assert set(_locs(response)) == {
        ("body", "fields", "first_name"),
        ("body", "fields", "phone"),
        ("body", "fields", "email"),
    }
    _nothing_stored(ready)


def test_post_without_ping_id(ready: Market) -> None:
    response = ready.http.post(
        "/api/v1/post", json={"fields": {**PING, **CONTACT}}, headers=ready.seller()
    )
    assert response.status_code == 422
    assert _locs(response) == {("body", "ping_id"): "missing"}


def test_a_malformed_post_does_not_use_up_the_ping(ready: Market) -> None:
    pinged = ready.ping()
    bad = ready.http.post(
        "/api/v1/post",
        json={"ping_id": pinged["ping_id"], "fields": {**PING, **CONTACT, "email": "not-an-email"}},
        headers=ready.seller(),
    )
    assert bad.status_code == 422
    assert _locs(bad) == {("body", "fields", "email"): "invalid_email"}
    assert ready.post(pinged["ping_id"])["status"] == "sold"


def test_oversized_body(ready: Market) -> None:
    huge = {"fields": {**PING, "credit": "x" * 70_000}}
    response = ready.http.post("/api/v1/ping", json=huge, headers=ready.seller())
    assert response.status_code == 413
    _nothing_stored(ready)


def test_oversized_body_sent_in_chunks_without_a_length(ready: Market) -> None:
    def chunks() -> Any:
        yield b'{"fields": {"zip": "'
        for _ in range(80):
            yield b"1" * 1024
        yield b'"}}'

    response = ready.http.post(
        "/api/v1/ping",
        content=chunks(),
        headers={**ready.seller(), "content-type": "application/json"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Bearer nonsense"}, "invalid_api_key"),
        ({"Authorization": "Bearer pt_0123456789ab_wrongsecret"}, "invalid_api_key"),
        ({"X-Api-Key": "pt_0123456789ab_wrongsecret"}, "invalid_api_key"),
    ],
)
def test_missing_or_bad_key(ready: Market, headers: dict[str, str], kind: str) -> None:
    response = ready.http.post("/api/v1/ping", json={"fields": PING}, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]["type"] == kind
    _nothing_stored(ready)


def test_a_right_id_with_a_wrong_secret_is_refused(ready: Market) -> None:
    key_id = ready.key().split("_")[1]
    response = ready.http.post(
        "/api/v1/ping",
        json={"fields": PING},
        headers={"Authorization": f"Bearer pt_{key_id}_forged"},
    )
    assert response.status_code == 401


def test_admin_api_needs_an_admin_token(ready: Market) -> None:
    assert ready.http.get("/api/v1/admin/leads").status_code == 401
    assert ready.http.get("/api/v1/admin/leads", headers=ready.seller()).status_code == 403
    # and a seller key cannot read another campaign's leads through the seller API
    assert ready.http.get("/api/v1/leads/nope", headers=ready.seller()).status_code == 404


def test_invalid_configuration_names_the_yaml_path(ready: Market) -> None:
    config = marketplace(
        [
            buyer(
                "shield",
                order("shield_fl", "25.00", caps=[{"kind": "count", "window": "day", "limit": 0}]),
            )
        ]
    )
    import yaml

    response = ready.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(config),
        headers={**ready.admin, "content-type": "application/yaml"},
    )
    assert response.status_code == 422
    paths = [e["loc"][-1] for e in response.json()["detail"]]
    assert "buyers[0].orders[0].caps[0].limit" in paths
