"""The direct post (DESIGN §2): a full lead with no ping, distributed the same way.

validate → repeat? → persist the lead → inbound duplicate? → auction on the full lead (bid
orders see only its non-PII fields) → ping options → sell.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from pingtree.delivery.attempts import ATTEMPT_CONTEXT
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.fields import Stage, pii_field_names, validate_fields
from pingtree.domain.model import Campaign, LeadValue, Order, Vertical
from pingtree.domain.outcomes import Reason
from pingtree.flows.auction import run_auction
from pingtree.flows.errors import InputError
from pingtree.flows.intake import finish_rejected, inbound_duplicate, last_sold, new_lead
from pingtree.flows.ports import BidResult, Ports
from pingtree.flows.requests import SellerRequest, campaign_refusal, rejected
from pingtree.flows.sell import LeadToSell, sell
from pingtree.store.lead_fields import dedup_keys
from pingtree.store.traffic import LeadRepository

__all__ = ["handle_direct_post"]


async def handle_direct_post(ports: Ports, request: SellerRequest) -> dict[str, Any]:
    started = time.monotonic()
    snapshot = ports.snapshots.current()
    campaign = snapshot.config.campaigns[request.campaign_id]
    vertical = snapshot.config.verticals[campaign.vertical_id]
    validated = validate_fields(vertical, request.fields, Stage.POST)
    if validated.errors:
        raise InputError(validated.errors)
    refusal = campaign_refusal(snapshot, campaign, "direct_post")
    if refusal is not None:
        return rejected([refusal])
    if request.idempotency_key:
        repeat = await _repeat(ports, campaign.id, request.idempotency_key, request.digest())
        if repeat is not None:
            return repeat

    now = ports.clock.now()
    test = request.test or campaign.test_mode
    lead_id = await _persist(ports, campaign, vertical, request, validated.values, test)
    if lead_id is None:  # a concurrent first request with the same key won the race
        key = request.idempotency_key or ""
        return await _repeat(ports, campaign.id, key, request.digest()) or rejected(
            [Reason.DUPLICATE]
        )
    keys = dedup_keys(vertical, validated.values, ports.vault)
    if await inbound_duplicate(ports, campaign, lead_id, keys, test, now):
        return await finish_rejected(ports, lead_id, rejected([Reason.DUPLICATE], lead_id=lead_id))

    ATTEMPT_CONTEXT.set((None, lead_id))  # the buyers asked for a price are logged under it
    sold_before = await last_sold(ports, keys, test)
    result = await run_auction(
        snapshot,
        campaign,
        LeadContext(
            values=validated.values,
            test=test,
            now=now,
            qualify_all=campaign.ping_options.qualify_all_criteria,
            legs=legs_offered(campaign.max_sells),
        ),
        seed=lead_id,
        cap_check=lambda order: ports.cap_room.check(order, now),
        bids=_NonPiiBids(ports, vertical),
        deadline=started + campaign.ping_deadline_ms / 1000,
        dedup_check=sold_before.get,
    )
    if not result.decision.accepted:
        answer = rejected(list(result.decision.reasons), lead_id=lead_id)
        return await finish_rejected(ports, lead_id, answer, result.to_json())
    return await sell(
        ports,
        snapshot,
        campaign,
        LeadToSell(
            id=lead_id,
            values=validated.values,
            test=test,
            now=now,
            dedup_keys=keys,
            last_sold=sold_before,
            ranking=result.selection.ranking,
            winners=result.selection.winners,
            quoted_payout=None,
            ping_id=None,
            auction=result.to_json(),
        ),
    )


class _NonPiiBids:
    """The bid source seen through the vertical: buyers bidding on a direct post are sent
    only its non-PII fields (PII never reaches a buyer before it wins)."""

    def __init__(self, ports: Ports, vertical: Vertical) -> None:
        self._bids = ports.bids
        self._pii = pii_field_names(vertical)

    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> Sequence[BidResult]:
        safe = {name: value for name, value in values.items() if name not in self._pii}
        return await self._bids.collect(orders, safe, deadline, deliveries)


async def _repeat(ports: Ports, campaign_id: str, key: str, digest: str) -> dict[str, Any] | None:
    """The first answer to a direct post repeated with the same idempotency key."""
    async with ports.sessions() as session:
        first = await LeadRepository(session).by_idempotency_key(campaign_id, key)
    if first is None:
        return None
    if first.request_digest != digest:
        return rejected([Reason.DUPLICATE], lead_id=first.id)
    if first.answer is None:
        return {"status": "pending", "lead_id": first.id}
    return dict(first.answer)


async def _persist(
    ports: Ports,
    campaign: Campaign,
    vertical: Vertical,
    request: SellerRequest,
    values: dict[str, LeadValue],
    test: bool,
) -> str | None:
    lead = new_lead(
        campaign,
        vertical,
        values,
        ports.vault,
        test=test,
        now=ports.clock.now(),
        idempotency_key=request.idempotency_key,
    )
    lead.request_digest = request.digest()
    try:
        async with ports.sessions.begin() as session:
            LeadRepository(session).add(lead)
    except IntegrityError:
        return None
    return lead.id
