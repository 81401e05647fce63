"""The direct post (DESIGN §2): a full lead with no ping, distributed the same way.

validate → repeat? → inbound duplicate? → auction on the full lead (bid orders see only its
non-PII fields) → ping options → sell: the lead, its sales, caps and outbox rows in one
transaction (``flows.sell``). Nothing is stored before that step, so a crash during the
auction leaves nothing behind: the seller's retry (same ``Idempotency-Key``) starts afresh.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from pingtree.delivery.attempts import ATTEMPT_CONTEXT
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.domain.campaigns import Campaign
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.fields import Stage, pii_field_names, validate_fields
from pingtree.domain.orders import Order
from pingtree.domain.outcomes import Reason
from pingtree.domain.verticals import LeadValue, Vertical
from pingtree.flows.auction import run_auction
from pingtree.flows.errors import InputError
from pingtree.flows.intake import new_lead, seen_inbound
from pingtree.flows.picks import LeadToSell
from pingtree.flows.ports import BidResult, Ports
from pingtree.flows.quality import run_steps
from pingtree.flows.requests import SellerRequest, campaign_refusal, rejected
from pingtree.flows.sell import Intake, sell
from pingtree.store.dedup import DedupRepository
from pingtree.store.lead_fields import dedup_keys, open_answer
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Lead
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
    refusal = campaign_refusal(snapshot, campaign, "direct_post", ports.cap_room.standing)
    if refusal is not None:
        return rejected([refusal])
    if request.idempotency_key:
        repeat = await _repeat(ports, campaign.id, request.idempotency_key, request.digest())
        if repeat is not None:
            return repeat

    values, steps, step_refusal, at_fault = validated.values, None, None, {}
    if campaign.steps:  # quality steps before the auction (a campaign without costs nothing)
        # the steps' calls and the auction share the request's deadline
        deadline = started + campaign.ping_deadline_ms / 1000
        checked = await run_steps(ports, campaign, vertical, values, deadline=deadline)
        values, steps, step_refusal = checked.values, checked.trace(), checked.refusal
        at_fault = checked.answer()
    now = ports.clock.now()
    test = request.test or campaign.test_mode
    lead = new_lead(
        campaign,
        vertical,
        values,
        ports.vault,
        test=test,
        now=now,
        idempotency_key=request.idempotency_key,
    )
    lead.request_digest = request.digest()
    keys = dedup_keys(vertical, values, ports.vault)
    to_sell = LeadToSell(
        id=lead.id,
        values=values,
        test=test,
        now=now,
        dedup_keys=keys,
        ranking=[],
        winners=[],
        quoted_payout=None,
        ping_id=None,
        auction={"steps": steps} if steps else {},
    )
    if step_refusal is not None:  # refused by a step: no buyer is asked for a price
        by_step = [step_refusal]
        return await _sell(ports, snapshot, campaign, request, to_sell, lead, by_step, at_fault)
    sold_before, duplicate = await _history(ports, campaign, keys, test, now)
    if duplicate:  # known before the auction: no buyer is asked for a price
        return await _sell(ports, snapshot, campaign, request, to_sell, lead, [Reason.DUPLICATE])

    ATTEMPT_CONTEXT.set((None, lead.id))  # the buyers asked for a price are logged under it
    result = await run_auction(
        snapshot,
        campaign,
        LeadContext(
            values=values,
            test=test,
            now=now,
            qualify_all=campaign.ping_options.qualify_all_criteria,
            legs=legs_offered(campaign.max_sells),
        ),
        seed=lead.id,
        cap_check=lambda order: ports.cap_room.check(order, now),
        demotions=ports.cap_room.demotions(),
        bids=_NonPiiBids(ports, vertical),
        deadline=started + campaign.ping_deadline_ms / 1000,
        dedup_check=sold_before.get,
    )
    to_sell = dataclasses.replace(
        to_sell,
        ranking=result.selection.ranking,
        winners=result.selection.winners,
        auction={**result.to_json(), "steps": steps} if steps else result.to_json(),
    )
    refused = None if result.decision.accepted else list(result.decision.reasons)
    return await _sell(ports, snapshot, campaign, request, to_sell, lead, refused)


async def _sell(
    ports: Ports,
    snapshot: Snapshot,
    campaign: Campaign,
    request: SellerRequest,
    lead: LeadToSell,
    row: Lead,
    refused: list[Reason] | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The one durable step (``flows.sell``); a concurrent first request with the same
    idempotency key that committed first wins, and this one gets its answer. ``extra``:
    what a refusal's answer carries besides its reasons (the ``fields`` at fault)."""
    refusal = rejected(refused, lead_id=lead.id, **(extra or {})) if refused is not None else None
    try:
        answer = await sell(ports, snapshot, campaign, lead, Intake(row, None, refusal))
    except IntegrityError:
        if not request.idempotency_key:
            raise
        repeat = await _repeat(ports, campaign.id, request.idempotency_key, request.digest())
        return repeat or rejected([Reason.DUPLICATE])
    assert answer is not None  # only a post's claim can be lost
    return answer


async def _history(
    ports: Ports, campaign: Campaign, keys: Sequence[str], test: bool, now: dt.datetime
) -> tuple[Mapping[str, dt.datetime], bool]:
    """Before the auction: the newest sale of this consumer to each buyer (per-buyer dedup),
    and whether any supplier sent it within the campaign's inbound window (the sale's
    transaction checks again, and remembers this lead). Test leads have no history."""
    if test or not keys:
        return {}, False
    async with ports.sessions() as session:
        last_sold = await DedupRepository(session).last_sold(keys)
        seen = await seen_inbound(session, campaign, keys, now)
    return last_sold, seen


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
    if first.first_answer is None:
        return {"status": "pending", "lead_id": first.id}
    return open_answer(first.first_answer, ports.vault)
