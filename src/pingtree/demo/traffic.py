"""The demo's sellers: a steady trickle of synthetic leads through the public seller API.

Leads arrive at random (a Poisson stream of ``rate`` leads a second) spread over the demo
campaigns by weight. A ping/post lead is pinged, then most accepted pings are posted a
moment later (as a consumer finishes the form); the rest expire unposted. A few sellers'
mistakes are mixed in so rejections show up too: a consumer sent again (``duplicate``), and
malformed leads (a 4xx). Traffic only ever goes to the demo's own server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

import aiohttp

from pingtree.demo.leads import LeadFactory, SyntheticLead
from pingtree.demo.market import CAMPAIGNS, DemoCampaign

__all__ = ["Traffic"]

_MAX_IN_FLIGHT = 200
_ABANDON_RATE = 0.1
_DUPLICATE_RATE = 0.04
_MALFORMED_RATE = 0.03
_POST_DELAY_SECONDS = (0.3, 2.5)


class Traffic:
    """Sends leads to ``base_url`` with each campaign's key until cancelled; ``tally``
    counts what happened (``ping accepted``, ``post sold``, ``refused``…)."""

    def __init__(
        self,
        base_url: str,
        keys: Mapping[str, str],
        rate: float,
        factory: LeadFactory,
        rng: random.Random,
    ) -> None:
        if rate <= 0:
            raise ValueError("the traffic rate must be positive")
        self._base_url = base_url
        self._keys = keys
        self._rate = rate
        self._factory = factory
        self._rng = rng
        self._sent: dict[str, deque[SyntheticLead]] = {c.id: deque(maxlen=50) for c in CAMPAIGNS}
        self.tally: Counter[str] = Counter()

    async def run(self) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        weights = [campaign.weight for campaign in CAMPAIGNS]
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(self._base_url, timeout=timeout) as http:
            try:
                while True:
                    await asyncio.sleep(self._rng.expovariate(self._rate))
                    if len(in_flight) >= _MAX_IN_FLIGHT:
                        self.tally["skipped (server busy)"] += 1
                        continue
                    campaign = self._rng.choices(CAMPAIGNS, weights)[0]
                    task = asyncio.create_task(self._journey(http, campaign))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            finally:
                for task in in_flight:
                    task.cancel()
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _journey(self, http: aiohttp.ClientSession, campaign: DemoCampaign) -> None:
        lead = self._next_lead(campaign)
        try:
            if campaign.mode == "direct_post":
                answer = await self._send(http, campaign, "/api/v1/leads", lead.post_fields)
                self._count("direct post", answer)
                return
            answer = await self._send(http, campaign, "/api/v1/ping", lead.ping_fields)
            self._count("ping", answer)
            if answer.get("status") != "accepted" or self._rng.random() < _ABANDON_RATE:
                return
            await asyncio.sleep(self._rng.uniform(*_POST_DELAY_SECONDS))
            answer = await self._send(
                http, campaign, "/api/v1/post", lead.post_fields, ping_id=answer["ping_id"]
            )
            self._count("post", answer)
        except (aiohttp.ClientError, TimeoutError):
            self.tally["connection errors"] += 1

    def _next_lead(self, campaign: DemoCampaign) -> SyntheticLead:
        sent = self._sent[campaign.id]
        roll = self._rng.random()
        if roll < _DUPLICATE_RATE and sent:
            # the same consumer again, under a new seller reference
            again = self._rng.choice(sent)
            ping_fields = {**again.ping_fields, "lead_ref": self._factory.lead_ref()}
            return SyntheticLead(again.vertical, ping_fields, again.contact_fields)
        lead = self._factory.lead(campaign.vertical)
        if roll > 1 - _MALFORMED_RATE:
            return SyntheticLead(
                lead.vertical, {**lead.ping_fields, "zip": "3310"}, lead.contact_fields
            )
        sent.append(lead)
        return lead

    async def _send(
        self,
        http: aiohttp.ClientSession,
        campaign: DemoCampaign,
        path: str,
        fields: Mapping[str, object],
        ping_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, object] = {"fields": dict(fields)}
        if ping_id is not None:
            body["ping_id"] = ping_id
        headers = {"Authorization": f"Bearer {self._keys[campaign.id]}"}
        async with http.post(path, json=body, headers=headers) as response:
            if response.status >= 400:
                await response.read()
                return {"status": "refused"}
            answer: dict[str, Any] = await response.json()
            return answer

    def _count(self, kind: str, answer: Mapping[str, Any]) -> None:
        status = answer.get("status", "unknown")
        self.tally["refused (4xx)" if status == "refused" else f"{kind} {status}"] += 1

    def summary(self) -> str:
        """The tally on one line, e.g. ``ping accepted 40, post sold 31, refused (4xx) 2``."""
        return ", ".join(f"{name} {count}" for name, count in sorted(self.tally.items()))
