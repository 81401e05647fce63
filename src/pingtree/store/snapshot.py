"""The configuration held in memory as a compiled snapshot (DESIGN §4, §8.4).

A ping reads one :class:`Snapshot` from start to end and never queries the database per
order. A worker checks ``config_version`` every ``poll_seconds`` and, when it moved, loads
the configuration, compiles it off the event loop and swaps one reference.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.compile import CompiledConfig, compile_config
from pingtree.config.errors import ConfigError
from pingtree.config.schema import ConfigDocument
from pingtree.domain.auction import Quote
from pingtree.domain.eligibility import Ineligible, check_standing
from pingtree.domain.order_index import OrderIndex, gate_reason
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.schedules import is_open
from pingtree.domain.trace import Candidate
from pingtree.store.config_repo import ConfigRepository
from pingtree.store.periodic import Periodic

__all__ = ["Scan", "Snapshot", "SnapshotHolder", "Standing"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Standing:
    """An order that may take a lead of this minute and state, with what does not depend on
    the lead prebuilt: a fixed-price order's quotes and its trace line."""

    order: Order
    quotes: tuple[Quote, ...] = ()
    priced: Candidate | None = None


@dataclass(frozen=True)
class Scan:
    #: orders that may take the lead, to check against its fields
    evaluate: tuple[Standing, ...]
    #: the trace lines of the orders that cannot
    settled: tuple[Candidate, ...]


class _MinuteCache:
    """What :meth:`Snapshot.scan` computed, valid for one minute of the clock."""

    def __init__(self) -> None:
        self._minute: dt.datetime | None = None
        self._scans: dict[tuple[str, bool, frozenset[Leg], str | None], Scan] = {}
        #: order id → whether its schedule is open this minute
        self.open: dict[str, bool] = {}

    def of(self, now: dt.datetime) -> dict[tuple[str, bool, frozenset[Leg], str | None], Scan]:
        minute = now.replace(second=0, microsecond=0)
        if minute != self._minute:
            self._minute, self._scans, self.open = minute, {}, {}
        return self._scans


@dataclass(frozen=True)
class Snapshot:
    version: int
    config: CompiledConfig
    #: orders of a vertical by test mode: (vertical id, test) → orders
    orders_by_vertical: Mapping[tuple[str, bool], tuple[Order, ...]] = field(default_factory=dict)
    #: the same orders shelved for the best-first walk (``domain.order_index``)
    indexes: dict[tuple[str, bool], OrderIndex] = field(default_factory=dict, compare=False)
    _scans: _MinuteCache = field(default_factory=lambda: _MinuteCache(), compare=False, repr=False)

    @classmethod
    def build(cls, version: int, config: CompiledConfig) -> Snapshot:
        index: dict[tuple[str, bool], list[Order]] = defaultdict(list)
        for order in config.orders.values():
            index[(order.vertical_id, order.test_mode)].append(order)
        return cls(
            version=version,
            config=config,
            orders_by_vertical={key: tuple(orders) for key, orders in index.items()},
            indexes={key: OrderIndex.build(orders, config.buyers) for key, orders in index.items()},
        )

    def order_index(self, vertical_id: str, test: bool) -> OrderIndex:
        """The orders of ``candidate_orders`` indexed (built here if :meth:`build` did not)."""
        key = (vertical_id, test)
        found = self.indexes.get(key)
        if found is None:
            orders = self.candidate_orders(vertical_id, test)
            if not orders:
                return _EMPTY_INDEX
            found = self.indexes[key] = OrderIndex.build(orders, self.config.buyers)
        return found

    def schedules(self, now: dt.datetime) -> Callable[[Order], Ineligible | None]:
        """``order → SCHEDULE | None`` at ``now``: whether the order's schedule is closed,
        each answer cached for the minute (schedules are minute-granular)."""
        self._scans.of(now)
        cache = self._scans.open

        def closed(order: Order) -> Ineligible | None:
            if order.schedule is None:
                return None
            open_now = cache.get(order.id)
            if open_now is None:
                open_now = cache[order.id] = is_open(order.schedule, now)
            return None if open_now else _CLOSED

        return closed

    def candidate_orders(self, vertical_id: str, test: bool) -> tuple[Order, ...]:
        return self.orders_by_vertical.get((vertical_id, test), ())

    def scan(
        self,
        vertical_id: str,
        test: bool,
        legs: frozenset[Leg],
        now: dt.datetime,
        state: str | None,
    ) -> Scan:
        """The candidate orders for a lead of this state, this minute: those to evaluate on
        the lead, and the trace lines of those that cannot take it whatever its other fields.

        Status, test mode, legs and schedule do not depend on the lead, schedules are
        minute-granular, and an order's state gate settles most filters by the lead's state
        alone (DESIGN §8.4): so a ping touches only the orders that may want it.
        """
        scans = self._scans.of(now)
        key = (vertical_id, test, legs, state)
        scan = scans.get(key)
        if scan is None:
            scan = scans[key] = self._scan(vertical_id, test, legs, now, state)
        return scan

    def _scan(
        self,
        vertical_id: str,
        test: bool,
        legs: frozenset[Leg],
        now: dt.datetime,
        state: str | None,
    ) -> Scan:
        evaluate: list[Standing] = []
        settled: list[Candidate] = []
        for order in self.candidate_orders(vertical_id, test):
            standing = check_standing(order, self.config.buyers[order.buyer_id], test, legs, now)
            if standing is not None:
                settled.append(
                    Candidate(order.id, order.buyer_id, standing.outcome, standing.reason)
                )
            elif (
                state is not None and order.state_gate is not None and state not in order.state_gate
            ):
                reason = gate_reason(order.state_gate)
                settled.append(Candidate(order.id, order.buyer_id, Outcome.FILTER, reason))
            else:
                evaluate.append(_standing(order, legs))
        return Scan(tuple(evaluate), tuple(settled))


_EMPTY_INDEX = OrderIndex()
#: past configuration versions held compiled for reading traces
_PAST_KEPT = 4
_CLOSED = Ineligible(Outcome.SCHEDULE, "closed by schedule")


def _standing(order: Order, legs: frozenset[Leg]) -> Standing:
    if order.pricing.pinged:
        # a fixed price offered only once its buyer accepts the ping (accept-only)
        return Standing(order)
    quotes = tuple(
        Quote(order.id, order.buyer_id, leg, price, order.priority, order.weight)
        for leg in sorted(legs)
        if (price := order.pricing.fixed_price(leg)) is not None
    )
    if not quotes:  # a bid order: priced per lead by its buyer
        return Standing(order)
    best = max(q.price for q in quotes)
    return Standing(order, quotes, Candidate(order.id, order.buyer_id, Outcome.FIXED, price=best))


def _compile(version: int, doc: ConfigDocument) -> Snapshot:
    return Snapshot.build(version, compile_config(doc))


class SnapshotHolder:
    """Holds the current snapshot; ``refresh`` reloads it when the stored version moved."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], poll_seconds: float = 1.0):
        self._sessions = sessions
        # a bad stored configuration must not kill the worker: it keeps the last good one
        self._poller = Periodic(
            "config-poll",
            poll_seconds,
            self.refresh,
            "configuration refresh failed; keeping the last",
        )
        self._current: Snapshot | None = None
        self._lock = asyncio.Lock()
        #: older versions compiled for traces being read, newest last
        self._past: OrderedDict[int, Snapshot | None] = OrderedDict()

    def current(self) -> Snapshot:
        if self._current is None:
            raise RuntimeError("the configuration snapshot was not loaded yet")
        return self._current

    async def refresh(self, force: bool = False) -> Snapshot:
        async with self._lock:
            async with self._sessions() as session:
                repo = ConfigRepository(session)
                version = await repo.version()
                if not force and self._current is not None and self._current.version == version:
                    return self._current
                doc = await repo.load_document()
            # compiling (regexes, filters, schedules) is CPU work: keep it off the event loop
            self._current = await asyncio.to_thread(_compile, version, doc)
            log.info("configuration snapshot version %d loaded", version)
            return self._current

    async def at(self, version: int) -> Snapshot | None:
        """The snapshot of configuration ``version``, to read a trace by: the current one,
        or one compiled from the kept history (a few are cached); ``None`` when the
        version is older than the history or no longer compiles."""
        current = self.current()
        if current.version == version:
            return current
        if version in self._past:
            self._past.move_to_end(version)
            return self._past[version]
        async with self._sessions() as session:
            doc = await ConfigRepository(session).load_version(version)
        found: Snapshot | None = None
        if doc is not None:
            try:
                found = await asyncio.to_thread(_compile, version, doc)
            except ConfigError:
                log.warning("configuration version %d no longer compiles", version)
        self._past[version] = found
        while len(self._past) > _PAST_KEPT:
            self._past.popitem(last=False)
        return found

    async def start(self) -> None:
        await self.refresh(force=True)
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()
