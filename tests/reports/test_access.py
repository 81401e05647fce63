"""Who may read the reports, and what a bad query is told."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.market import Market, buyer, marketplace, order

ENDPOINTS = [
    "/api/v1/admin/reports/summary",
    "/api/v1/admin/reports/timeseries",
    "/api/v1/admin/reports/breakdown?by=buyer",
    "/api/v1/admin/reports/buyers",
    "/api/v1/admin/orders/shield_fl/caps",
]


@pytest.fixture
def configured(market: Market) -> Market:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    return market


@pytest.mark.parametrize("path", ENDPOINTS)
def test_reports_need_an_admin_token(configured: Market, path: str) -> None:
    assert configured.http.get(path).status_code == 401
    assert configured.http.get(path, headers=configured.seller()).status_code == 403
    assert configured.http.get(path, headers=configured.admin).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("summary", {"period": "week"}, ["query", "period"]),
        ("summary", {"from": "yesterday", "to": "2026-11-24T00:00:00Z"}, ["query", "from"]),
        ("summary", {"from": "2026-11-20T00:00:00Z"}, ["query", "to"]),
        ("summary", {"to": "2026-11-20T00:00:00Z"}, ["query", "from"]),
        (
            "summary",
            {"from": "2026-11-20T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
            ["query", "to"],
        ),
        (
            "summary",
            {"from": "2024-01-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
            ["query", "to"],
        ),
        ("summary", {"period": "7d", "from": "2026-11-20T00:00:00Z"}, ["query", "period"]),
        ("summary", {"test": "maybe"}, ["query", "test"]),
        ("timeseries", {"bucket": "minute"}, ["query", "bucket"]),
        (
            "timeseries",
            {"bucket": "hour", "from": "2026-01-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
            ["query", "bucket"],
        ),
        ("timeseries", {"format": "xml"}, ["query", "format"]),
        ("breakdown", {}, ["query", "by"]),
        ("breakdown", {"by": "colour"}, ["query", "by"]),
        ("buyers", {"period": "1y"}, ["query", "period"]),
    ],
)
def test_bad_parameters_are_named(
    configured: Market, path: str, params: dict[str, Any], loc: list[str]
) -> None:
    response = configured.http.get(
        f"/api/v1/admin/reports/{path}", params=params, headers=configured.admin
    )
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [loc]


def test_a_time_without_a_zone_is_utc(configured: Market) -> None:
    response = configured.http.get(
        "/api/v1/admin/reports/summary",
        params={"from": "2026-11-20T00:00:00", "to": "2026-11-21"},
        headers=configured.admin,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["start"], response.json()["end"]) == (
        "2026-11-20T00:00:00Z",
        "2026-11-21T00:00:00Z",
    )


def test_caps_of_an_unknown_order(configured: Market) -> None:
    response = configured.http.get("/api/v1/admin/orders/nobody/caps", headers=configured.admin)
    assert response.status_code == 404


def test_reports_are_in_the_openapi_schema(configured: Market) -> None:
    paths = configured.http.get("/openapi.json").json()["paths"]
    breakdown = paths["/api/v1/admin/reports/breakdown"]["get"]
    assert {p["name"] for p in breakdown["parameters"]} >= {"by", "period", "from", "to", "format"}
    assert "text/csv" in breakdown["responses"]["200"]["content"]
    assert "/api/v1/admin/orders/{order_id}/caps" in paths
