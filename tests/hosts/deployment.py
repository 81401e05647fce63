"""The marketplace the hosts serve, and what a seller, an operator and a buyer see of it.

Lanes are told apart by the lead's zip (every order filters on it):

- ``retry`` (from the crash harness): a first buyer at $30 and a second at $20;
- ``slow``: the first buyer answers in 300 ms and dedupes on the ``Idempotency-Key``
  (``on_unknown: retry``), so a post can be caught in flight by a kill;
- ``caps``: ``capped`` ($30, a count cap of 4 sales) and ``budgeted`` ($25, its buyer's
  budget $50: two sales);
- ``held``: ``held`` ($40, a count cap of one sale) and ``held_fallback`` ($10, no cap):
  a won ping's hold on ``held`` keeps every other lead off it;
- ``tuned``: ``tuned`` ($15), whose price the configuration test changes.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import yaml
from sqlalchemy import select

from pingtree.mockbuyer import MockBuyer
from pingtree.store.db import create_engine
from pingtree.store.tables import CapUsage, Sale
from tests.api.market import buyer, order
from tests.crash.harness import RETRY, SLOW, crash_marketplace

__all__ = ["CAPS", "HELD", "TUNED", "Deployment", "hosts_marketplace"]

CAPS = "33120"
HELD = "33130"
TUNED = "33140"
#: the lanes' own endpoints at the mock buyer; they take every post
ENDPOINTS = ("capped", "budgeted", "held", "held_fallback", "tuned")


def _post_order(
    mock: MockBuyer, order_id: str, zip_code: str, price: str, **extra: Any
) -> dict[str, Any]:
    step = {
        "url": mock.post_url(order_id),
        "content_type": "json",
        "timeout_ms": 2000,
        "retries": 3,
        "on_unknown": "retry",
        "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    return order(
        order_id,
        price,
        filters={"all": [{"field": "zip", "op": "eq", "value": zip_code}]},
        delivery={"post": step},
        **extra,
    )


def hosts_marketplace(mock: MockBuyer, tuned_price: str = "15.00") -> dict[str, Any]:
    config = crash_marketplace(mock, (RETRY, SLOW))
    count = {"kind": "count", "window": "total"}
    config["buyers"] += [
        buyer("capped", _post_order(mock, "capped", CAPS, "30.00", caps=[{**count, "limit": 4}])),
        buyer(
            "budgeted",
            _post_order(mock, "budgeted", CAPS, "25.00"),
            budget=[{"kind": "spend", "window": "total", "limit": "50.00"}],
        ),
        buyer(
            "held",
            _post_order(mock, "held", HELD, "40.00", caps=[{**count, "limit": 1}]),
            _post_order(mock, "held_fallback", HELD, "10.00"),
        ),
        buyer("tuned", _post_order(mock, "tuned", TUNED, tuned_price)),
    ]
    return config


_phones = itertools.count(2000)


def new_lead(zip_code: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A new consumer: the ping fields, the contact fields, the phone as a buyer gets it."""
    n = next(_phones)
    ping = {"zip": zip_code, "state": "FL", "age": 34, "credit": "good"}
    contact = {"first_name": "Ana", "phone": f"(305) 555-{n:04d}", "email": f"a.{n}@example.com"}
    return ping, contact, f"305555{n:04d}"


@dataclass
class Deployment:
    """The cluster's marketplace, as its seller, its operator and its buyers see it."""

    mock: MockBuyer
    database_url: str
    admin: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)

    def seller(self, campaign_id: str = "wait", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[campaign_id]}", **headers}

    def apply(self, url: str, config: dict[str, Any]) -> int:
        """Apply ``config`` through ``url``; the configuration version it answers with."""
        applied = httpx.post(
            f"{url}/api/v1/admin/config",
            content=yaml.safe_dump(config, sort_keys=False),
            headers={**self.admin, "content-type": "application/yaml"},
            timeout=30,
        )
        assert applied.status_code == 200, applied.text
        return version(url)

    def ping(self, url: str, fields: dict[str, Any], campaign_id: str = "wait") -> httpx.Response:
        answer = httpx.post(
            f"{url}/api/v1/ping", json={"fields": fields}, headers=self.seller(campaign_id)
        )
        assert answer.status_code == 200, answer.text
        return answer

    def post(
        self, url: str, ping_id: str, fields: dict[str, Any], campaign_id: str = "wait"
    ) -> httpx.Response:
        answer = httpx.post(
            f"{url}/api/v1/post",
            json={"ping_id": ping_id, "fields": fields},
            headers=self.seller(campaign_id),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer

    def direct(
        self, url: str, fields: dict[str, Any], campaign_id: str = "wait", key: str = ""
    ) -> httpx.Response:
        answer = httpx.post(
            f"{url}/api/v1/leads",
            json={"fields": fields},
            headers=self.seller(campaign_id, **{"Idempotency-Key": key or str(uuid.uuid4())}),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer

    def admin_get(self, url: str, path: str, **params: Any) -> Any:
        answer = httpx.get(
            f"{url}/api/v1/admin{path}", headers=self.admin, params=params, timeout=30
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def stored_ping(self, url: str, ping_id: str) -> bool:
        answer = httpx.get(f"{url}/api/v1/admin/pings/{ping_id}", headers=self.admin, timeout=5)
        return answer.status_code == 200

    def posts_to(self, phone: str) -> list[tuple[str, str]]:
        """(endpoint, Idempotency-Key) of every post the mock buyer received for ``phone``."""
        received = []
        for request in list(self.mock.requests):
            if request.kind == "post" and orjson.loads(request.body).get("phone") == phone:
                received.append((str(request.endpoint), request.headers.get("Idempotency-Key", "")))
        return received

    def sales(self) -> list[tuple[str, str, str, str]]:
        """(sale id, lead id, order id, status) of every sale, read from the database."""
        return asyncio.run(
            _rows(self.database_url, select(Sale.id, Sale.lead_id, Sale.order_id, Sale.status))
        )

    def committed(self) -> Counter[str]:
        """order or buyer scope → the committed use of its caps, from the database."""
        rows = asyncio.run(_rows(self.database_url, select(CapUsage.scope, CapUsage.used)))
        use: Counter[str] = Counter()
        for scope, used in rows:
            use[scope] += int(used)
        return use


def version(url: str) -> int:
    """The configuration version a host (or the host the balancer picks) runs on."""
    return int(httpx.get(f"{url}/readyz", timeout=5).json()["config_version"])


async def _rows(url: str, query: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(query)]
    finally:
        await engine.dispose()
