"""Buyers' response times from the delivery log, and orders' cap usage."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.reports import buyer_performance
from pingtree.store.tables import AttemptRow
from tests.api.market import Market, buyer, marketplace, order

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)

#: (buyer, order, kind, outcome, duration in ms)
ATTEMPTS = [
    *[("shield", "shield_fl", "ping", "bid", ms) for ms in (100, 200, 300, 400, 500, 600, 700)],
    ("shield", "shield_fl", "ping", "no_bid", 800),
    ("shield", "shield_fl", "ping", "error", 900),
    ("shield", "shield_fl", "ping", "timeout", 1000),
    ("shield", "shield_tx", "ping", "bid", 300),
    ("shield", "shield_tx", "ping", "timeout", 500),
    ("shield", "shield_fl", "post", "accepted", 50),
    ("shield", "shield_fl", "post", "error", 70),
    ("shield", "shield_fl", "post", "accepted", 90),
    ("acorn", "acorn_all", "ping", "bid", 40),
]


def attempt(
    buyer_id: str, order_id: str, kind: str, outcome: str, ms: int, at: dt.datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "order_id": order_id,
        "buyer_id": buyer_id,
        "ping_id": None,
        "lead_id": None,
        "started_at": at,
        "duration_ms": ms,
        "outcome": outcome,
        "method": "POST",
        "url": "https://buyer.example/api",
        "request_headers": {},
        "request_body": "",
        "status": 200,
        "response_headers": {},
        "response_body": "",
        "parsed": {},
        "error": "",
    }


def nearest_rank(durations: list[int], percent: int) -> int:
    return sorted(durations)[math.ceil(len(durations) * percent / 100) - 1]


def expected_rows() -> dict[tuple[str, str | None, str], dict[str, Any]]:
    groups: dict[tuple[str, str | None, str], list[tuple[str, int]]] = {}
    for buyer_id, order_id, kind, outcome, ms in ATTEMPTS:
        groups.setdefault((buyer_id, None, kind), []).append((outcome, ms))
        groups.setdefault((buyer_id, order_id, kind), []).append((outcome, ms))
    rows = {}
    for key, found in groups.items():
        durations = [ms for _, ms in found]
        timeouts = sum(outcome == "timeout" for outcome, _ in found)
        errors = sum(outcome == "error" for outcome, _ in found)
        rows[key] = {
            "attempts": len(found),
            "avg_ms": round(sum(durations) / len(durations), 1),
            "p50_ms": nearest_rank(durations, 50),
            "p90_ms": nearest_rank(durations, 90),
            "max_ms": max(durations),
            "timeouts": timeouts,
            "errors": errors,
            "timeout_rate": round(timeouts / len(found), 4),
            "error_rate": round(errors / len(found), 4),
        }
    return rows


async def test_response_times_and_timeout_rates(
    market: Market, db: async_sessionmaker[AsyncSession]
) -> None:
    async with db.begin() as session:
        rows = [attempt(*a, at=NOW - dt.timedelta(minutes=5)) for a in ATTEMPTS]
        # the day before yesterday: outside "today"
        rows.append(
            attempt("acorn", "acorn_all", "ping", "timeout", 5000, NOW - dt.timedelta(days=2))
        )
        await session.execute(insert(AttemptRow), rows)

    response = market.http.get(
        "/api/v1/admin/reports/buyers", params={"period": "today"}, headers=market.admin
    )
    assert response.status_code == 200, response.text
    got = response.json()["rows"]
    assert {
        (r["buyer_id"], r["order_id"], r["kind"]): {
            k: v for k, v in r.items() if k not in ("buyer_id", "order_id", "kind")
        }
        for r in got
    } == expected_rows()
    assert [(r["buyer_id"], r["order_id"], r["kind"]) for r in got][:4] == [
        ("acorn", None, "ping"),
        ("acorn", "acorn_all", "ping"),
        ("shield", None, "ping"),
        ("shield", None, "post"),
    ]
    shield_pings = got[2]
    # 12 pings: 100…1000 by hundreds, 300 and 500 again
    assert (shield_pings["p50_ms"], shield_pings["p90_ms"], shield_pings["timeout_rate"]) == (
        500,
        900,
        round(2 / 12, 4),
    )

    async with db() as session:
        everything = await buyer_performance(session, NOW - dt.timedelta(days=3), NOW)
    acorn = next(p for p in everything if (p.buyer_id, p.order_id) == ("acorn", None))
    assert (acorn.attempts, acorn.timeouts, acorn.max_ms, acorn.timeout_rate) == (2, 1, 5000, 0.5)


def test_an_orders_caps_against_each_limit(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer(
                    "shield",
                    order(
                        "shield_fl",
                        "25.00",
                        caps=[
                            {"kind": "count", "window": "day", "limit": 5},
                            {"kind": "spend", "window": "month", "limit": "500.00"},
                        ],
                    ),
                    budget=[{"kind": "spend", "window": "day", "limit": "100.00"}],
                )
            ]
        )
    )
    assert market.sell()["status"] == "sold"
    assert market.ping()["status"] == "accepted"  # won, held until it expires

    response = market.http.get("/api/v1/admin/orders/shield_fl/caps", headers=market.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["order_id"], body["buyer_id"]) == ("shield_fl", "shield")
    assert [
        (c["scope"], c["kind"], c["window"], c["limit"], c["used"], c["held"], c["resets_at"])
        for c in body["caps"]
    ] == [
        ("order", "count", "day", 5, 1, 1, "2026-11-24T00:00:00Z"),
        ("order", "spend", "month", "500.00", "25.00", "25.00", "2026-12-01T00:00:00Z"),
        ("buyer", "spend", "day", "100.00", "25.00", "25.00", "2026-11-24T00:00:00Z"),
    ]
    assert body["caps"][0]["window_key"] == "count:d:2026-11-23"
