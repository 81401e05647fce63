"""Cap room for the hot path: per-window usage cached and refreshed about once a second.

The scan asks "does this order (and its buyer's budget) still have room?" for every
candidate without touching shared state (DESIGN §8.4). The answer may be a second stale:
that is safe, because the reservation of the winners and the commit of a sale are the
authoritative, atomic checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal

from pingtree.domain.caps import CapCharge, charges_for, fits, full_outcome
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.return_rules import Breach
from pingtree.store.caps import CapLedger
from pingtree.store.periodic import Periodic
from pingtree.store.return_rates import ReturnStanding
from pingtree.store.snapshot import Snapshot

__all__ = ["CapRoom"]

#: the smallest possible price, for room checks of orders whose price is not known yet
_ONE_CENT = Decimal("0.01")


class CapRoom:
    def __init__(
        self,
        ledger: CapLedger,
        snapshot: Callable[[], Snapshot],
        now: Callable[[], dt.datetime],
        refresh_seconds: float = 1.0,
        standing: ReturnStanding | None = None,
    ) -> None:
        self._ledger = ledger
        #: who a return rule pauses or demotes now (refreshed on its own, slower, clock)
        self.standing = standing
        self._snapshot = snapshot
        self._now = now
        self._refresher = Periodic(
            "cap-room", refresh_seconds, self.refresh, "cap room refresh failed; keeping the last"
        )
        self._full: dict[str, Outcome] = {}
        self._quarter: tuple[int, int, int, int, int] | None = None

    def check(self, order: Order, now: dt.datetime) -> Outcome | None:
        """``RETURN_RATE`` when a return rule pauses the order's buyer; ``CAP``, ``BUDGET``
        or ``BALANCE`` when a window of the order or its buyer (or the buyer's account) was
        full at the last refresh; else ``None``: dictionary lookups on the hot path.

        Cap windows turn over on quarter hours at the finest (UTC hours; local days in
        every time zone's offset): in another quarter hour than the refresh, a window may
        have turned over, so the answer is "room" and the atomic reservation decides.
        """
        if self.standing is not None and self.standing.paused_buyer(order.buyer_id):
            return Outcome.RETURN_RATE
        if _quarter(now) != self._quarter:
            return None
        return self._full.get(order.id)

    async def refresh(self) -> None:
        snapshot, now = self._snapshot(), self._now()
        charges: dict[str, tuple[CapCharge, ...]] = {}
        for order in snapshot.config.orders.values():
            buyer = snapshot.config.buyers.get(order.buyer_id)
            if buyer is None or (not order.caps and not buyer.caps and buyer.account is None):
                continue
            charges[order.id] = charges_for(order, buyer, _least_price(order), now)
        keys = sorted({(c.scope, c.window_key) for cs in charges.values() for c in cs})
        usage = await self._ledger.usage(keys, now) if keys else {}
        full: dict[str, Outcome] = {}
        for order_id, order_charges in charges.items():
            for charge in order_charges:
                used, held = usage.get((charge.scope, charge.window_key), (0, 0))
                if not fits(charge, used, held):
                    full[order_id] = full_outcome(charge)
                    break
        self._full, self._quarter = full, _quarter(now)

    def demotions(self) -> Mapping[str, Breach]:
        """The buyers a return rule ranks lower now (``run_auction``'s ``demotions``)."""
        return self.standing.demotions() if self.standing is not None else {}

    async def start(self) -> None:
        await self.refresh()
        self._refresher.start()
        if self.standing is not None:
            await self.standing.start()

    async def stop(self) -> None:
        if self.standing is not None:
            await self.standing.stop()
        await self._refresher.stop()


def _least_price(order: Order) -> Decimal:
    """The least a sale to this order would cost: its cheapest fixed leg, or a cent."""
    prices = [p for leg in Leg if (p := order.pricing.fixed_price(leg)) is not None]
    return min(prices) if prices else _ONE_CENT


def _quarter(now: dt.datetime) -> tuple[int, int, int, int, int]:
    return (now.year, now.month, now.day, now.hour, now.minute // 15)
