"""What a seller sent, once the API has parsed and authenticated it, and shared helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import uuid_utils

from pingtree.domain.campaigns import Campaign
from pingtree.domain.outcomes import Reason
from pingtree.store.return_rates import ReturnStanding
from pingtree.store.snapshot import Snapshot

__all__ = ["SellerRequest", "campaign_refusal", "new_id", "rejected"]


@dataclass(frozen=True)
class SellerRequest:
    campaign_id: str
    #: the lead's fields as sent (strings from forms, JSON values otherwise)
    fields: Mapping[str, object]
    test: bool = False
    ping_id: str | None = None
    idempotency_key: str | None = None
    #: the seller's own deadline for a ping answer, if shorter than the campaign's
    tmax_ms: int | None = None
    meta: Mapping[str, object] = field(default_factory=dict)

    def digest(self) -> str:
        """Identifies the body, so a repeat can be told from a different request."""
        body = {"fields": dict(self.fields), "test": self.test, "ping_id": self.ping_id}
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def new_id() -> str:
    """A time-ordered id (UUIDv7)."""
    return str(uuid_utils.uuid7())


def rejected(reasons: list[Reason], **extra: Any) -> dict[str, Any]:
    return {"status": "rejected", **extra, "reasons": [str(r) for r in reasons]}


def campaign_refusal(
    snapshot: Snapshot, campaign: Campaign, mode: str, standing: ReturnStanding | None = None
) -> Reason | None:
    """Why this campaign may not take this kind of request now, if it may not: paused (or
    its supplier paused, by hand or by its return rule), or not taking ``mode``."""
    supplier = snapshot.config.suppliers.get(campaign.supplier_id)
    if not campaign.active or supplier is None or not supplier.active:
        return Reason.CAMPAIGN_INACTIVE
    if mode not in campaign.modes:
        return Reason.MODE_NOT_ALLOWED
    if standing is not None and standing.paused_supplier(supplier.id):
        return Reason.RETURN_RATE_OVER_LIMIT
    return None
