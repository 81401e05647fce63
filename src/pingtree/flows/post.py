"""The post (DESIGN §2, §8.2): the full lead and its ping id in, ``sold`` or ``rejected`` out.

find the ping → validate the full lead (inheriting the pinged fields) → post agrees with
ping? → sell, in one transaction: claim the ping (or store it claimed, when it was still
queued in this process's pings' writer), persist the lead, inbound duplicate?,
sales, caps and outbox rows (``flows.sell``) → answer. A repeated post gets the first
answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import uuid_utils

from pingtree.domain.campaigns import Campaign
from pingtree.domain.fields import (
    FieldError,
    Stage,
    mismatched_fields,
    validate_fields,
    values_from_json,
)
from pingtree.domain.money import from_cents
from pingtree.domain.outcomes import Reason
from pingtree.domain.verticals import LeadValue, Vertical
from pingtree.flows.auction import quote_from_json
from pingtree.flows.errors import InputError
from pingtree.flows.intake import new_lead
from pingtree.flows.picks import LeadToSell
from pingtree.flows.ping_claim import PingClaim
from pingtree.flows.ports import Ports
from pingtree.flows.quality import run_steps
from pingtree.flows.requests import SellerRequest, campaign_refusal, rejected
from pingtree.flows.sell import Intake, sell
from pingtree.store.lead_fields import dedup_keys, open_answer
from pingtree.store.tables import Ping
from pingtree.store.traffic import LeadRepository, PingRepository

__all__ = ["handle_post"]

_REPEAT_POLL_SECONDS = 0.05
#: how long a post waits for a ping just answered by another worker to be stored
_UNSEEN_WAIT_SECONDS = 0.5


async def handle_post(ports: Ports, request: SellerRequest) -> dict[str, Any]:
    snapshot = ports.snapshots.current()
    campaign = snapshot.config.campaigns[request.campaign_id]
    vertical = snapshot.config.verticals[campaign.vertical_id]
    if not request.ping_id:
        raise InputError([FieldError(("body", "ping_id"), "a post needs the ping_id", "missing")])
    ping = await _find_ping(ports, campaign, request.ping_id)
    post_values = _validate(vertical, request, ping)
    if ping is None:
        return rejected([Reason.PING_UNKNOWN], ping_id=request.ping_id)
    refusal = campaign_refusal(snapshot, campaign, "ping_post")
    if refusal is not None:
        return rejected([refusal], ping_id=ping.id)
    if ping.status != "accepted":
        return rejected([Reason.PING_REJECTED], ping_id=ping.id)

    ping_values = values_from_json(vertical, ping.fields)
    values: dict[str, LeadValue] = {**ping_values, **post_values}
    checked = None
    if campaign.steps:  # quality steps before the sale (a campaign without costs nothing)
        checked = await run_steps(ports, campaign, vertical, values)
        values = checked.values
    now = ports.clock.now()
    digest = request.digest()
    lead = new_lead(
        campaign, vertical, values, ports.vault, test=ping.test, now=now, ping_id=ping.id
    )
    lead.request_digest = digest
    mismatch = mismatched_fields(ping_values, post_values)
    refused = None
    if mismatch:
        refused = rejected([Reason.PING_POST_MISMATCH], lead_id=lead.id, fields=list(mismatch))
    elif checked is not None and checked.refusal is not None:
        refused = rejected([checked.refusal], lead_id=lead.id, **checked.answer())
    auction = {**ping.auction, "steps": checked.trace()} if checked else ping.auction
    ranking = [quote_from_json(row) for row in ping.auction.get("ranking", [])]
    winners = set(ping.auction.get("winners", []))
    to_sell = LeadToSell(
        id=lead.id,
        values=values,
        test=ping.test,
        now=now,
        dedup_keys=dedup_keys(vertical, values, ports.vault),
        ranking=ranking,
        winners=[quote for quote in ranking if quote.order_id in winners],
        quoted_payout=from_cents(ping.bid_cents),
        ping_id=ping.id,
        auction=auction,
    )
    # A ping answered by this process a moment ago and still queued in the pings' writer is
    # taken from it: its row goes in with the sale, claimed, with no wait for the writer
    # and no trip of its own. A crash before the sale commits loses it as it would have
    # in the writer: a quote, never an acknowledged lead. Any other is claimed where it
    # is stored, once the writer (which may be writing it now) is done with it.
    taken = ports.pings.take(ping.id) if ping.expires_at > now else None
    if taken is None:
        await ports.pings.settled(ping.id)
    claim = PingClaim(ping.id, digest, taken)
    answer = await sell(ports, snapshot, campaign, to_sell, Intake(lead, claim, refused))
    if answer is None:  # claimed already (by this very post, or another) or expired
        return await _answer_repeat(ports, ping.id, digest, now, campaign.post_deadline_ms)
    return answer


async def _find_ping(ports: Ports, campaign: Campaign, ping_id: str) -> Ping | None:
    queued = ports.pings.get(ping_id)
    if queued is not None:  # answered by this process a moment ago, not stored yet
        ping: Ping | None = Ping(**queued)
    else:
        give_up_at = time.monotonic() + _UNSEEN_WAIT_SECONDS
        while True:
            async with ports.sessions() as session:
                ping = await PingRepository(session).get(ping_id)
            # another worker answered this ping a moment ago and is still writing it
            if ping is not None or not _just_made(ping_id) or time.monotonic() >= give_up_at:
                break
            await asyncio.sleep(_REPEAT_POLL_SECONDS)
    # another campaign's ping is as unknown as a made-up id
    return ping if ping is not None and ping.campaign_id == campaign.id else None


def _just_made(ping_id: str) -> bool:
    """Whether ``ping_id`` is a time-ordered id minted within the last seconds."""
    try:
        minted_ms = uuid_utils.UUID(ping_id).timestamp
    except ValueError:
        return False
    return abs(time.time() * 1000 - minted_ms) < _UNSEEN_WAIT_SECONDS * 2000


def _validate(
    vertical: Vertical, request: SellerRequest, ping: Ping | None
) -> dict[str, LeadValue]:
    """The posted fields, normalized. A field the ping carried may be omitted (inherited)."""
    validated = validate_fields(vertical, request.fields, Stage.POST)
    pinged = ping.fields if ping is not None else {}
    errors = [
        e for e in validated.errors if not (e.type == "missing" and e.loc and e.loc[-1] in pinged)
    ]
    if errors:
        raise InputError(errors)
    return validated.values


async def _answer_repeat(
    ports: Ports, ping_id: str, digest: str, now: dt.datetime, deadline_ms: int
) -> dict[str, Any]:
    """A post of a ping that is no longer open: the first answer, or why not. While the
    first post of the same body is still being sold, it is waited for as the first would
    be (the campaign's post deadline), then answered ``pending``."""
    give_up_at = time.monotonic() + deadline_ms / 1000
    while True:
        async with ports.sessions() as session:
            ping = await PingRepository(session).get(ping_id)
            lead = await LeadRepository(session).by_ping(ping_id)
        if ping is None:
            return rejected([Reason.PING_UNKNOWN], ping_id=ping_id)
        if ping.claimed_at is None:
            await ports.caps.release(ping_id, now)
            return rejected([Reason.PING_EXPIRED], ping_id=ping_id)
        if ping.post_digest != digest:
            return rejected([Reason.PING_ALREADY_USED], ping_id=ping_id)
        if lead is not None and lead.first_answer is not None:
            return open_answer(lead.first_answer, ports.vault)
        # the first post of this very body is still being sold: wait for its answer
        if time.monotonic() >= give_up_at:
            return {"status": "pending", "ping_id": ping_id, "lead_id": ping.lead_id}
        await asyncio.sleep(_REPEAT_POLL_SECONDS)
