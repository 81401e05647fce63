"""A lead's conversion postbacks as the staff see them on its page and in the admin API:
each event's URL (tracking macros only, never PII), state and tries with their HTTP status
and duration (``flows.postback``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pingtree.store.tables import Postback

__all__ = ["postback_rows"]


def postback_rows(rows: Sequence[Postback]) -> list[dict[str, Any]]:
    """``rows`` oldest first, as plain dicts."""
    return [
        {
            "id": row.id,
            "event": row.event,
            "method": row.method,
            "url": row.url,
            "status": row.status,
            "tries": row.tries,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "attempts": list(row.attempts),
        }
        for row in rows
    ]
