"""Conversion postbacks: telling a campaign's tracker what became of a lead (DESIGN §8.6,
issue 14), through a durable outbox of their own::

    the lead's final answer (``flows.settle``) or an approved return (``flows.returns``)
    → queue_postback: the campaign's URL template rendered (``domain.postbacks``), one row
      per lead and event, in the event's own transaction
    → after commit, PostbackQueue.dispatch: sent at once in-process
    → 2xx/3xx: sent; another 4xx (not 408/429): refused, failed; 5xx, 408, 429 or a
      network failure: tried again after a backoff (doubling), up to ``max_tries``
    → a worker sends the rows nobody holds: queued ones whose lease ran out, and those
      its process left ``sending`` when it died (sent again: at least once)

Each try is logged on the row (when, HTTP status, duration, error) and shown on the lead's
page; the URL holds tracking macros only, never PII. ``GET`` sends the URL alone; ``POST``
sends the lead's answer as JSON too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import uuid_utils
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.delivery.client import SendError, send
from pingtree.domain.campaigns import Campaign
from pingtree.domain.money import format_money, from_cents, parse_money, to_cents
from pingtree.domain.postbacks import TRACKING_MACROS, render_postback
from pingtree.flows.ports import Ports
from pingtree.flows.settle import Settled
from pingtree.store.lead_fields import open_answer
from pingtree.store.periodic import Periodic
from pingtree.store.postbacks import PostbackRepository
from pingtree.store.tables import Lead, Postback

__all__ = ["PostbackQueue", "dispatch_postbacks", "postback_of_answer", "queue_postback"]

logger = logging.getLogger(__name__)

_TIMEOUT_SECONDS = 5.0
_RETRIED = frozenset({408, 429})


async def queue_postback(
    session: AsyncSession,
    campaign: Campaign | None,
    lead_id: str,
    event: str,
    payout_cents: int,
    now: dt.datetime,
    *,
    answer: Mapping[str, Any] | None = None,
    lease: dt.timedelta = dt.timedelta(seconds=30),
    fields: Mapping[str, Any] | None = None,
) -> str | None:
    """Write the campaign's postback of the lead's ``event`` (``sold``, ``rejected`` or
    ``returned``) in ``session``'s transaction; its id, to dispatch once committed, or
    ``None`` when the campaign has no postback URL or the lead had this one already.
    ``payout_cents`` is the supplier's (see ``domain.postbacks``); ``answer`` the lead's
    answer as stored (its redirect URL sealed until sent), the body of a ``POST``;
    ``lease`` how long the row is left to this process to send (after it, the worker of
    any process may); ``fields``, the lead's fields when at hand (else read back)."""
    if campaign is None or not campaign.postback_url:
        return None
    if fields is None:
        fields = await session.scalar(select(Lead.fields).where(Lead.id == lead_id)) or {}
    values = {name: str(fields.get(name) or "") for name in TRACKING_MACROS}
    values.update(
        lead_id=lead_id,
        campaign_id=campaign.id,
        status=event,
        payout=format_money(from_cents(payout_cents)),
    )
    method = campaign.postback_method
    row = Postback(
        id=str(uuid_utils.uuid7()),
        lead_id=lead_id,
        campaign_id=campaign.id,
        event=event,
        method=method,
        url=render_postback(campaign.postback_url, values),
        body=orjson.dumps(dict(answer or {})).decode() if method == "POST" else "",
        status="queued",
        tries=0,
        due_at=now,
        lease_until=now + lease,
        attempts=[],
        created_at=now,
        updated_at=now,
    )
    return row.id if await PostbackRepository(session).add(row) else None


async def postback_of_answer(
    session: AsyncSession,
    campaign: Campaign | None,
    settled: Settled | None,
    now: dt.datetime,
    lease: dt.timedelta,
) -> str | None:
    """Queue the postback of a lead's final answer (sold or rejected; a pending answer is
    not final) in ``session``'s transaction: the payout is the answer's ``price``."""
    if settled is None or campaign is None:
        return None
    event = settled.answer.get("status")
    if event not in ("sold", "rejected"):
        return None
    payout = to_cents(parse_money(str(settled.answer.get("price", "0.00"))))
    return await queue_postback(
        session,
        campaign,
        settled.lead_id,
        str(event),
        payout if event == "sold" else 0,
        now,
        answer=settled.answer,
        lease=lease,
    )


def dispatch_postbacks(ports: Ports, lead_id: str) -> None:
    """Send the lead's queued postbacks now, once their event's transaction committed."""
    if ports.postbacks is not None:
        ports.postbacks.dispatch_lead(lead_id)


class PostbackQueue:
    """The postbacks' dispatcher and worker for one process. ``backoff`` is the first
    retry's delay (doubled each try); the worker looks for rows nobody holds every
    ``poll_seconds``."""

    def __init__(
        self,
        *,
        backoff: dt.timedelta = dt.timedelta(seconds=1),
        max_tries: int = 8,
        lease: dt.timedelta = dt.timedelta(seconds=30),
        poll_seconds: float = 1.0,
    ) -> None:
        self._backoff = backoff
        self._max_tries = max_tries
        self._lease = lease
        self._ports: Ports | None = None
        self._worker = Periodic("postbacks", poll_seconds, self._sweep, "postback sweep failed")
        self._sending: dict[str, asyncio.Task[None]] = {}
        self._reading: set[asyncio.Task[None]] = set()

    def start(self, ports: Ports) -> None:
        self._ports = ports
        self._worker.start()

    async def stop(self) -> None:
        """Stop the worker and cancel the sends in flight (their rows are taken again by
        the next worker once their lease runs out)."""
        await self._worker.stop()
        tasks = list(self._sending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def dispatch(self, postback_ids: Sequence[str | None]) -> None:
        """Send these committed rows now, in the background (``None``s are skipped)."""
        for postback_id in postback_ids:
            if postback_id is not None:
                self._spawn(postback_id, own=True)

    def dispatch_lead(self, lead_id: str) -> None:
        """Send the lead's queued rows now, in the background."""
        if self._ports is None:
            return
        task = asyncio.create_task(self._lead_rows(lead_id))
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    async def _lead_rows(self, lead_id: str) -> None:
        ports = self._require_ports()
        async with ports.sessions() as session:
            rows = await PostbackRepository(session).for_lead(lead_id)
        # never tried: a row waiting out its backoff is another sender's to try again
        self.dispatch([row.id for row in rows if row.status == "queued" and row.tries == 0])

    def _spawn(self, postback_id: str, *, own: bool) -> None:
        if postback_id in self._sending or self._ports is None:
            return
        task = asyncio.create_task(self._deliver(postback_id, own=own))
        self._sending[postback_id] = task
        task.add_done_callback(lambda _: self._sending.pop(postback_id, None))

    async def _deliver(self, postback_id: str, *, own: bool) -> None:
        try:
            while (delay := await self._try(postback_id, own=own)) is not None:
                await asyncio.sleep(delay.total_seconds())
                own = True
        except Exception:
            logger.exception("postback %s failed; the worker will find its row", postback_id)

    async def _try(self, postback_id: str, *, own: bool) -> dt.timedelta | None:
        """One try of the row; the delay before the next, or ``None`` when done."""
        ports = self._require_ports()
        now = ports.clock.now()

        async def take(session: AsyncSession) -> Postback | None:
            return await PostbackRepository(session).take(
                postback_id, now, now + self._lease, own=own
            )

        row = await ports.transactions.run(take)
        if row is None:
            return None
        attempt, outcome = await self._send(ports, row)
        attempts = [*row.attempts, attempt]
        delay = self._backoff * (1 << max(row.tries - 1, 0))
        if outcome == "retry" and row.tries >= self._max_tries:
            outcome = "failed"
        status = {"retry": "queued"}.get(outcome, outcome)
        done_at = ports.clock.now()

        async def settle(session: AsyncSession) -> None:
            await PostbackRepository(session).settle(
                postback_id, status=status, attempts=attempts, due_at=done_at + delay, now=done_at
            )

        await ports.transactions.run(settle)
        if status != "queued":
            log = logger.info if status == "sent" else logger.warning
            log("postback %s of lead %s %s", row.event, row.lead_id, status)
            return None
        return delay

    async def _send(self, ports: Ports, row: Postback) -> tuple[dict[str, Any], str]:
        """Send the row once: its log entry, and ``sent``, ``failed`` or ``retry``."""
        headers: list[tuple[str, str]] = []
        body = b""
        if row.method == "POST":  # the answer as stored: its redirect URL opened only now
            headers = [("Content-Type", "application/json")]
            body = orjson.dumps(open_answer(orjson.loads(row.body or "{}"), ports.vault))
        started = time.monotonic()
        attempt: dict[str, Any] = {"at": ports.clock.now().isoformat(), "status": None}
        try:
            response = await send(
                ports.http, row.method, row.url, headers, body, timeout=_TIMEOUT_SECONDS
            )
        except SendError as error:
            attempt.update(duration_ms=_since(started), error=error.kind)
            return attempt, "retry"
        attempt.update(duration_ms=_since(started), status=response.status, error="")
        if response.status < 400:
            return attempt, "sent"
        if response.status >= 500 or response.status in _RETRIED:
            return attempt, "retry"
        return attempt, "failed"

    async def _sweep(self) -> None:
        ports = self._require_ports()
        async with ports.sessions() as session:
            due = await PostbackRepository(session).due(ports.clock.now())
        for postback_id in due:
            self._spawn(postback_id, own=False)

    def _require_ports(self) -> Ports:
        if self._ports is None:
            raise RuntimeError("the postback queue is not started")
        return self._ports


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
