"""The seller API says what it needs: ``missing_required_fields`` names the absent fields, and
the main OpenAPI document declares the seller API's security schemes, ``Idempotency-Key``,
examples and typed error answers (as the campaign's own document does)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tests.api.market import PING, Market, buyer, campaign, marketplace, order


def _requiring(market: Market, *names: str) -> None:
    market.apply(
        marketplace(
            [buyer("shield", order("shield_fl", "10.00"))],
            [campaign(ping_options={"required_fields": list(names)})],
        )
    )


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in PING.items() if k not in names}


def test_missing_required_fields_names_the_fields(market: Market) -> None:
    _requiring(market, "credit", "insured")
    answer = market.ping(_without("credit"))
    assert answer == {
        "status": "rejected",
        "ping_id": answer["ping_id"],
        "reasons": ["missing_required_fields"],
        "missing": ["credit", "insured"],
    }
    # a form ping, with personal data too: both reasons, the missing field named
    form = urlencode({**PING, "phone": "3055550142"})
    response = market.http.post(
        "/api/v1/ping",
        content=form,
        headers={**market.seller(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["reasons"] == ["pii_in_ping", "missing_required_fields"]
    assert response.json()["missing"] == ["insured"]
    # a repeat (same Idempotency-Key) gets the same answer, names and all
    key = {**market.seller(), "Idempotency-Key": "lead-77"}
    first = market.http.post("/api/v1/ping", json={"fields": PING}, headers=key).json()
    again = market.http.post("/api/v1/ping", json={"fields": PING}, headers=key).json()
    assert first["missing"] == ["insured"]
    assert again == first
    # met, nothing is missing
    assert "missing" not in market.ping({**PING, "insured": False})
