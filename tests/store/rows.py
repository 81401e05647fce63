"""Rows of the traffic tables as a store test inserts them (``Prepared`` inserts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def lead_row(lead_id: str) -> dict[str, Any]:
    return {
        "id": lead_id,
        "campaign_id": "c",
        "supplier_id": "s",
        "vertical_id": "v",
        "ping_id": None,
        "test": False,
        "status": "pending",
        "reasons": [],
        "fields": {"zip": "33101"},
        "answer": None,
        "first_answer": None,
        "auction": {"ranking": []},
        "idempotency_key": None,
        "request_digest": None,
        "created_at": NOW,
        "updated_at": NOW,
        "erased_at": None,
    }  # revenue_cents and cost_cents left to their defaults


def sale_row(sale_id: str, lead_id: str) -> dict[str, Any]:
    return {
        "id": sale_id,
        "lead_id": lead_id,
        "order_id": "o",
        "buyer_id": "b",
        "campaign_id": "c",
        "supplier_id": "s",
        "vertical_id": "v",
        "leg": "1",
        "test": False,
        "status": "pending",
        "revenue_cents": 1200,
        "cost_cents": 800,
        "created_at": NOW,
        "returned_at": None,
        "return_reason": None,
    }
