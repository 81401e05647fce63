"""The ping (DESIGN §2): a partial lead in, a bid and a ping id out, in milliseconds.

authenticate (api) → validate → repeat? → seen? (the duplicate-ping cache, hashed phone or
email: flows.ping_dedup) → ping options on the fields → auction (scan, price,
rank, select, ping options) → reserve caps for the winners → store the ping → answer.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from pingtree.delivery.attempts import ATTEMPT_CONTEXT
from pingtree.domain.auction import Quote
from pingtree.domain.campaigns import Campaign
from pingtree.domain.caps import charges_for, full_outcome, full_reason
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.fields import Stage, Validated, validate_fields, values_to_json
from pingtree.domain.money import format_money, to_cents
from pingtree.domain.outcomes import Outcome, Reason
from pingtree.domain.ping_dedup import take_hashes
from pingtree.flows.auction import AuctionResult, run_auction
from pingtree.flows.errors import InputError
from pingtree.flows.notices import notices_for
from pingtree.flows.ping_dedup import consumer_seen
from pingtree.flows.ports import Ports
from pingtree.flows.requests import SellerRequest, campaign_refusal, new_id, rejected
from pingtree.store.replay_pings import replay_line
from pingtree.store.return_rates import ReturnStanding
from pingtree.store.snapshot import Snapshot
from pingtree.store.traffic import PingRepository

__all__ = ["handle_ping"]

#: kept back from the fan-out's share of the deadline for ranking, storing and answering
_ANSWER_RESERVE_MS = 15
#: how many times winners that lost a cap race are replaced from the same quotes
_RESERVE_ROUNDS = 3


async def handle_ping(ports: Ports, request: SellerRequest) -> dict[str, Any]:
    started = time.monotonic()
    snapshot = ports.snapshots.current()
    campaign = snapshot.config.campaigns[request.campaign_id]
    vertical = snapshot.config.verticals[campaign.vertical_id]
    fields, hashes, hash_errors = take_hashes(request.fields)
    validated = validate_fields(vertical, fields, Stage.PING)
    if validated.errors or hash_errors:
        raise InputError([*validated.errors, *hash_errors])
    now = ports.clock.now()
    expires_at = now + dt.timedelta(seconds=campaign.ping_ttl_seconds)
    test = request.test or campaign.test_mode

    if request.idempotency_key:
        repeat = await _repeat(ports, campaign.id, request.idempotency_key, now)
        if repeat is not None:
            return repeat

    seen = await consumer_seen(ports, campaign, vertical, validated.values, hashes, test, now)
    if seen.answer is not None:
        return seen.answer
    ping_id = new_id()
    refusals, missing = _refusals(snapshot, campaign, validated, ports.cap_room.standing)
    if refusals or seen.duplicate:
        refused = rejected(refusals or [Reason.DUPLICATE], ping_id=ping_id)
        if missing:
            refused["missing"] = missing
        seen.remember(ports, campaign, refused)
        await _store(
            ports, request, campaign, validated, test, now, expires_at, ping_id, refused, None
        )
        return refused

    lead = LeadContext(
        values=validated.values,
        test=test,
        now=now,
        qualify_all=campaign.ping_options.qualify_all_criteria,
        legs=legs_offered(campaign.max_sells),
    )
    deadline = started + _fan_out_budget_ms(campaign, request) / 1000
    ATTEMPT_CONTEXT.set((ping_id, None))  # the buyers asked for a price are logged under it
    result = await run_auction(
        snapshot,
        campaign,
        lead,
        seed=ping_id,
        cap_check=lambda order: ports.cap_room.check(order, now),
        demotions=ports.cap_room.demotions(),
        bids=ports.bids,
        deadline=deadline,
        dedup_check=seen.sold_before.get,
    )
    if result.decision.accepted and not test:
        result = await _reserve_winners(ports, snapshot, campaign, result, ping_id, expires_at)

    if result.decision.accepted:
        answer: dict[str, Any] = {
            "status": "accepted",
            "ping_id": ping_id,
            "bid": format_money(result.decision.payout),
            "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
        }
    else:
        answer = rejected(list(result.decision.reasons), ping_id=ping_id)
    if test:
        answer["test"] = True
    seen.remember(ports, campaign, answer)
    await _store(
        ports, request, campaign, validated, test, now, expires_at, ping_id, answer, result
    )
    if ports.notices is not None and not test:
        ports.notices.send(notices_for(snapshot, result, ping_id))
    return answer


def _refusals(
    snapshot: Snapshot, campaign: Campaign, validated: Validated, standing: ReturnStanding | None
) -> tuple[list[Reason], list[str]]:
    """Reasons to refuse the ping before any buyer is considered, and the names of the
    campaign's required ping fields it lacks (``missing_required_fields`` names them)."""
    refusal = campaign_refusal(snapshot, campaign, "ping_post", standing)
    if refusal is not None:
        return [refusal], []
    reasons = []
    if validated.pii_in_ping:
        reasons.append(Reason.PII_IN_PING)
    missing = [n for n in campaign.ping_options.required_fields if n not in validated.values]
    if missing:
        reasons.append(Reason.MISSING_REQUIRED_FIELDS)
    return reasons, missing


def _fan_out_budget_ms(campaign: Campaign, request: SellerRequest) -> int:
    budget = campaign.ping_deadline_ms
    if request.tmax_ms is not None:
        budget = min(budget, request.tmax_ms)
    return max(budget - _ANSWER_RESERVE_MS, 0)


async def _repeat(
    ports: Ports, campaign_id: str, key: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The first answer to a ping repeated with the same key within its TTL."""
    queued = ports.pings.repeat(campaign_id, key, now)
    if queued is not None:
        return queued
    async with ports.sessions() as session:
        first = await PingRepository(session).find_repeat(campaign_id, key, now)
    return dict(first.answer) if first is not None else None


async def _reserve_winners(
    ports: Ports,
    snapshot: Snapshot,
    campaign: Campaign,
    result: AuctionResult,
    ping_id: str,
    expires_at: dt.datetime,
) -> AuctionResult:
    """Hold cap room for the winners; a winner that lost a race is replaced from the quotes."""
    now = ports.clock.now()
    for _ in range(_RESERVE_ROUNDS):
        lost: dict[Outcome, set[str]] = {}
        for quote in result.selection.winners:
            full = await _hold(ports, snapshot, quote, ping_id, expires_at, now)
            if full is not None:
                lost.setdefault(full, set()).add(quote.order_id)
        if not lost:
            return result
        await ports.caps.release(ping_id, now)
        for outcome, order_ids in lost.items():
            result = result.without(order_ids, outcome, full_reason(outcome), campaign, ping_id)
        if not result.decision.accepted:
            return result
    await ports.caps.release(ping_id, now)
    winners = {q.order_id for q in result.selection.winners}
    return result.without(winners, Outcome.CAP, "cap contention", campaign, ping_id)


async def _hold(
    ports: Ports,
    snapshot: Snapshot,
    quote: Quote,
    ping_id: str,
    expires_at: dt.datetime,
    now: dt.datetime,
) -> Outcome | None:
    """Hold the order's cap room, then its buyer's budget, then its buyer's account; which
    of them is full, if any."""
    order = snapshot.config.orders[quote.order_id]
    buyer = snapshot.config.buyers[order.buyer_id]
    charges = charges_for(order, buyer, quote.price, now)
    for outcome in (Outcome.CAP, Outcome.BUDGET, Outcome.BALANCE):
        part = [c for c in charges if full_outcome(c) is outcome]
        if part and not await ports.caps.reserve(ping_id, part, expires_at, now):
            return outcome
    return None


async def _store(
    ports: Ports,
    request: SellerRequest,
    campaign: Campaign,
    validated: Validated,
    test: bool,
    now: dt.datetime,
    expires_at: dt.datetime,
    ping_id: str,
    answer: dict[str, Any],
    result: AuctionResult | None,
) -> None:
    accepted = answer["status"] == "accepted"
    auction = result.to_json() if result else {}
    ports.pings.add(
        {
            "id": ping_id,
            "campaign_id": campaign.id,
            "supplier_id": campaign.supplier_id,
            "vertical_id": campaign.vertical_id,
            "test": test,
            "status": "accepted" if accepted else "rejected",
            "reasons": answer.get("reasons", []),
            # PII refused in a ping is never stored
            "fields": values_to_json(validated.values),
            "bid_cents": to_cents(result.decision.payout) if result and accepted else 0,
            "revenue_cents": to_cents(result.decision.revenue) if result and accepted else 0,
            "answer": answer,
            "auction": auction,
            "replay_line": replay_line(auction),
            "idempotency_key": request.idempotency_key,
            "created_at": now,
            "expires_at": expires_at,
        }
    )
