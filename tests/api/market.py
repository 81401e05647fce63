"""A test's handle on a running pingtree: configure it, sell to it, read what happened."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from pingtree.settings import Settings
from tests.support.clock import FrozenClock

AUTO_VERTICAL: dict[str, Any] = {
    "id": "auto",
    "name": "Auto insurance",
    "fields": [
        {"name": "zip", "type": "zip", "ping": "required", "post": "required"},
        {"name": "state", "type": "state", "ping": "required", "post": "required"},
        {"name": "age", "type": "integer", "min": 16, "max": 100, "post": "required"},
        {"name": "credit", "type": "enum", "values": ["excellent", "good", "fair", "poor"]},
        {"name": "insured", "type": "boolean"},
        {"name": "first_name", "type": "string", "pii": True, "post": "required"},
        {"name": "phone", "type": "phone", "pii": True, "post": "required"},
        {"name": "email", "type": "email", "pii": True, "post": "required"},
    ],
}

PING = {"zip": "33101", "state": "FL", "age": 34, "credit": "good"}
CONTACT = {"first_name": "Ana", "phone": "(305) 555-0142", "email": "Ana@Example.com"}


def campaign(campaign_id: str = "acme_auto", **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": campaign_id,
        "name": campaign_id,
        "vertical": "auto",
        "modes": ["ping_post", "direct_post"],
        "payout": {"model": "revenue_share", "percent": 70},
    }
    spec.update(overrides)
    return spec


def order(order_id: str, price: str | None = "20.00", **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": order_id, "name": order_id, "vertical": "auto"}
    if price is not None:
        spec["pricing"] = {"type": "fixed", "exclusive": price}
    spec.update(overrides)
    return spec


def buyer(buyer_id: str, *orders: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"id": buyer_id, "name": buyer_id, "orders": list(orders), **overrides}


def marketplace(
    buyers: list[dict[str, Any]], campaigns: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "verticals": [copy.deepcopy(AUTO_VERTICAL)],
        "suppliers": [{"id": "acme", "name": "Acme Media", "campaigns": campaigns or [campaign()]}],
        "buyers": buyers,
    }


@dataclass
class Market:
    http: httpx.Client
    admin_token: str
    clock: FrozenClock
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def apply(self, config: dict[str, Any], **params: Any) -> dict[str, Any]:
        response = self.http.post(
            "/api/v1/admin/config",
            content=yaml.safe_dump(config, sort_keys=False),
            headers={**self.admin, "content-type": "application/yaml"},
            params=params,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def key(self, campaign_id: str = "acme_auto") -> str:
        if campaign_id not in self.keys:
            response = self.http.post(
                f"/api/v1/admin/campaigns/{campaign_id}/keys", headers=self.admin
            )
            assert response.status_code == 201, response.text
            self.keys[campaign_id] = response.json()["api_key"]
        return self.keys[campaign_id]

    def seller(self, campaign_id: str = "acme_auto") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(campaign_id)}"}

    def ping(
        self, fields: dict[str, Any] | None = None, campaign_id: str = "acme_auto", **body: Any
    ) -> dict[str, Any]:
        return self._ok(
            "/api/v1/ping", {"fields": PING if fields is None else fields, **body}, campaign_id
        )

    def post(
        self,
        ping_id: str,
        fields: dict[str, Any] | None = None,
        campaign_id: str = "acme_auto",
        **body: Any,
    ) -> dict[str, Any]:
        fields = {**PING, **CONTACT} if fields is None else fields
        return self._ok("/api/v1/post", {"ping_id": ping_id, "fields": fields, **body}, campaign_id)

    def direct_post(
        self, fields: dict[str, Any] | None = None, campaign_id: str = "acme_auto", **body: Any
    ) -> dict[str, Any]:
        fields = {**PING, **CONTACT} if fields is None else fields
        return self._ok("/api/v1/leads", {"fields": fields, **body}, campaign_id)

    def sell(
        self, fields: dict[str, Any] | None = None, campaign_id: str = "acme_auto"
    ) -> dict[str, Any]:
        """Ping then post one lead; the post's answer."""
        pinged = self.ping({k: v for k, v in (fields or PING).items() if k in PING}, campaign_id)
        assert pinged["status"] == "accepted", pinged
        return self.post(pinged["ping_id"], {**PING, **CONTACT, **(fields or {})}, campaign_id)

    def lead(self, lead_id: str, reveal: bool = False) -> dict[str, Any]:
        response = self.http.get(
            f"/api/v1/admin/leads/{lead_id}", headers=self.admin, params={"reveal": reveal}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def ping_trace(self, ping_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/admin/pings/{ping_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def outcomes(self, ping_id: str) -> dict[str, tuple[str, str]]:
        """order id → (outcome, reason) from a ping's trace."""
        candidates = self.ping_trace(ping_id)["auction"]["candidates"]
        return {c["order_id"]: (c["outcome"], c["reason"]) for c in candidates}

    def _ok(self, path: str, body: dict[str, Any], campaign_id: str) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers=self.seller(campaign_id))
        assert response.status_code == 200, response.text
        return dict(response.json())
