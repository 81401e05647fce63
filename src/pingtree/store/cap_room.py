"""Cap room for the hot path: per-window usage cached and refreshed about once a second.

The scan asks "does this order (and its buyer's budget) still have room?" for every
candidate without touching shared state (DESIGN §8.4). The answer may be a second stale:
that is safe, because the reservation of the winners and the commit of a sale are the
authoritative, atomic checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal

from pingtree.domain.caps import CapCharge, charges_for, fits
from pingtree.domain.model import Buyer, Order
from pingtree.domain.outcomes import Outcome
from pingtree.store.caps import CapLedger
from pingtree.store.snapshot import Snapshot

__all__ = ["CapRoom"]

log = logging.getLogger(__name__)

#: the smallest possible price, for room checks of orders whose price is not known yet
_ONE_CENT = Decimal("0.01")


class CapRoom:
    def __init__(
        self,
        ledger: CapLedger,
        snapshot: Callable[[], Snapshot],
        now: Callable[[], dt.datetime],
        refresh_seconds: float = 1.0,
    ) -> None:
        self._ledger = ledger
        self._snapshot = snapshot
        self._now = now
        self._refresh_seconds = refresh_seconds
        self._usage: dict[tuple[str, str], tuple[int, int]] = {}
        self._task: asyncio.Task[None] | None = None

    def check(
        self, order: Order, buyer: Buyer, price: Decimal | None, now: dt.datetime
    ) -> Outcome | None:
        """``CAP`` or ``BUDGET`` when a window is full by the cached usage, else ``None``."""
        if not order.caps and not buyer.caps:
            return None
        for charge in charges_for(order, buyer, price or _ONE_CENT, now):
            used, held = self._usage.get((charge.scope, charge.window_key), (0, 0))
            if not fits(charge, used, held):
                return Outcome.BUDGET if charge.is_budget else Outcome.CAP
        return None

    async def refresh(self) -> None:
        snapshot, now = self._snapshot(), self._now()
        keys: set[tuple[str, str]] = set()
        for order in snapshot.config.orders.values():
            buyer = snapshot.config.buyers.get(order.buyer_id)
            if buyer is None or (not order.caps and not buyer.caps):
                continue
            keys.update(_keys(charges_for(order, buyer, _ONE_CENT, now)))
        self._usage = await self._ledger.usage(sorted(keys), now) if keys else {}

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="cap-room")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            try:
                await self.refresh()
            except Exception:
                log.exception("cap room refresh failed; keeping the last usage")


def _keys(charges: tuple[CapCharge, ...]) -> list[tuple[str, str]]:
    return [(charge.scope, charge.window_key) for charge in charges]
