"""Return rates for the hot path: who a return rule pauses or demotes now, counted every
half minute (a rate moves by the day, not by the ping) and read with one dictionary lookup.

A buyer's or a supplier's rate is its approved returns over its live sales sold in its
rule's window (``domain.return_rules``); only those with a rule are counted. The refresh
interval is ``Settings.return_rates_refresh_seconds``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from pingtree.domain.parties import ReturnRule, ReturnRuleAction
from pingtree.domain.return_rules import Breach, breach
from pingtree.store.periodic import Periodic
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Sale

__all__ = ["ReturnStanding"]


class ReturnStanding:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        snapshot: Callable[[], Snapshot],
        now: Callable[[], dt.datetime],
        refresh_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._snapshot = snapshot
        self._now = now
        self._refresher = Periodic(
            "return-rates", refresh_seconds, self.refresh, "return rates refresh failed"
        )
        self._buyers: dict[str, Breach] = {}
        self._suppliers: dict[str, Breach] = {}

    def buyer(self, buyer_id: str) -> Breach | None:
        return self._buyers.get(buyer_id)

    def paused_buyer(self, buyer_id: str) -> Breach | None:
        found = self._buyers.get(buyer_id)
        return found if found is not None and found.rule.action is ReturnRuleAction.PAUSE else None

    def demotions(self) -> Mapping[str, Breach]:
        """The buyers ranked lower now, with why."""
        return {
            buyer_id: found
            for buyer_id, found in self._buyers.items()
            if found.rule.action is ReturnRuleAction.DEMOTE
        }

    def paused_supplier(self, supplier_id: str) -> Breach | None:
        return self._suppliers.get(supplier_id)

    async def refresh(self) -> None:
        config, now = self._snapshot().config, self._now()
        buyers = {b.id: b.return_rule for b in config.buyers.values() if b.return_rule}
        suppliers = {s.id: s.return_rule for s in config.suppliers.values() if s.return_rule}
        async with self._sessions() as session:
            self._buyers = await _breaches(session, Sale.buyer_id, buyers, now)
            self._suppliers = await _breaches(session, Sale.supplier_id, suppliers, now)

    async def start(self) -> None:
        await self.refresh()
        self._refresher.start()

    async def stop(self) -> None:
        await self._refresher.stop()


async def _breaches(
    session: AsyncSession,
    party: InstrumentedAttribute[str],
    rules: Mapping[str, ReturnRule],
    now: dt.datetime,
) -> dict[str, Breach]:
    """The parties (``Sale.buyer_id`` or ``Sale.supplier_id``) whose rule acts now; one
    query per window length in use."""
    found: dict[str, Breach] = {}
    for days in sorted({rule.days for rule in rules.values()}):
        ids = sorted(party_id for party_id, rule in rules.items() if rule.days == days)
        since = (now - dt.timedelta(days=days)).astimezone(dt.UTC)
        rows = await session.execute(
            select(party, func.count(), func.count(Sale.returned_at))
            .where(
                party.in_(ids),
                Sale.status == "sold",
                Sale.test.is_(False),
                Sale.created_at >= since,
            )
            .group_by(party)
        )
        for party_id, sold, returned in rows:
            verdict = breach(rules[party_id], int(sold), int(returned))
            if verdict is not None:
                found[party_id] = verdict
    return found
