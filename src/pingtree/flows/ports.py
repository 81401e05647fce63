"""What the flows need from the outside world, wired once at start-up (``pingtree.bootstrap``).

The flows receive a :class:`Ports` and never reach for a module-level singleton.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.clock import Clock
from pingtree.delivery.client import BuyerClient
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.delivery.notices import NoticeSender
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.throttle import SignInPolicy
from pingtree.domain.verticals import LeadValue
from pingtree.store.cap_room import CapRoom
from pingtree.store.caps import CapLedger
from pingtree.store.config_notices import no_one_to_tell
from pingtree.store.ping_repeats import LocalPingRepeats, PingRepeats
from pingtree.store.ping_writer import PingWriter
from pingtree.store.rate_limits import LocalRateLimits, RateLimitCounters
from pingtree.store.secrets import PiiVault
from pingtree.store.snapshot import SnapshotHolder
from pingtree.store.tables import Delivery, Sale
from pingtree.store.transactions import Transactions, Work

__all__ = ["BidResult", "BidSource", "DeliveryQueue", "LeadOnHand", "NoLiveBids", "Ports"]


@dataclass(frozen=True, slots=True)
class BidResult:
    """What became of asking one ``bid`` order for its price."""

    order_id: str
    #: ``BID`` with a price, or NO_BID / BELOW_FLOOR / TIMEOUT / ERROR / SKIPPED_SLOW / THROTTLED
    outcome: Outcome
    price: Decimal | None = None
    reason: str = ""
    latency_ms: int | None = None
    #: the buyer's own id for this bid (its ping id, auction id…), sent back in the post
    token: str | None = None
    #: a multi-leg bid: the price of each leg bought (``price`` is the best of them);
    #: ``None``: ``price`` is the bid for every leg
    leg_prices: Mapping[Leg, Decimal] | None = None

    def leg_price(self, leg: Leg) -> Decimal | None:
        """The bid for one leg (``None``: no price for it)."""
        return self.price if self.leg_prices is None else self.leg_prices.get(leg)


class BidSource(Protocol):
    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> Sequence[BidResult]:
        """Ask every ``bid`` order for its price at once; answer by ``deadline``.

        ``values`` hold only non-PII fields. ``deadline`` is a ``time.monotonic()``
        instant. ``deliveries`` are the auction's snapshot's, by order id. One result per
        order, in any order; a buyer's failure is its own outcome, never an exception.
        """
        ...


class NoLiveBids:
    """The bid source when no order has a ping endpoint: every bid order gives no bid."""

    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> Sequence[BidResult]:
        return [
            BidResult(order.id, Outcome.NO_BID, reason="no ping endpoint configured")
            for order in orders
        ]


@dataclass(frozen=True, slots=True)
class LeadOnHand:
    """A lead as its sale's transaction committed it, kept by the process that sold it so
    that its posts need not read it back."""

    id: str
    vertical_id: str
    ping_id: str | None
    #: the full lead, PII in clear
    values: Mapping[str, LeadValue]
    #: its sales to post, as its sale's transaction wrote them, by id
    sales: Mapping[str, Sale] = field(default_factory=dict)


class DeliveryQueue(Protocol):
    """The outbox's in-process side (``flows.deliver.Outbox``): sales whose outbox rows
    committed are posted at once; a seller may wait for its lead's final answer."""

    @property
    def fresh_lease(self) -> dt.timedelta:
        """How long a new outbox row is left to the process that wrote it (it dispatches
        the row at once: only a crash leaves it to another worker, after this)."""
        ...

    def expect(self, lead_id: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the lead's final answer; call before :meth:`dispatch`."""
        ...

    def take_new(self, orders: Mapping[str, str]) -> Work[Sequence[Delivery]]:
        """The work of a transaction that takes the outbox rows of a sale just committed
        (sale id → order) for this process's posts, to run just after the sale's."""
        ...

    def hold_taken(self, rows: Sequence[Delivery]) -> None:
        """The rows :meth:`take_new`'s transaction took: :meth:`dispatch` sends them as
        they are."""
        ...

    def dispatch(self, sale_ids: Sequence[str], lead: LeadOnHand | None = None) -> None:
        """Post these sales now, in the background (their outbox rows are committed);
        ``lead``, their lead as committed, spares reading it back."""
        ...

    async def wait(
        self,
        lead_id: str,
        answer: asyncio.Future[dict[str, Any]],
        timeout: float,  # noqa: ASYNC109 (the campaign's post deadline)
    ) -> dict[str, Any]:
        """The lead's final answer, or ``pending`` with its id past ``timeout`` seconds."""
        ...

    async def resolve(self, sale_id: str, delivered: bool) -> bool:
        """An operator's verdict on a post of unknown outcome; ``False`` if there is none."""
        ...


class PostbackDispatch(Protocol):
    """The conversion postbacks' in-process side (``flows.postback.PostbackQueue``)."""

    def dispatch_lead(self, lead_id: str) -> None:
        """Send the lead's queued postbacks now (their event's transaction committed)."""
        ...


@dataclass(frozen=True)
class Ports:
    sessions: async_sessionmaker[AsyncSession]
    #: runs a transaction's work whole (the sale's, the outbox's): see store.transactions
    transactions: Transactions
    snapshots: SnapshotHolder
    caps: CapLedger
    cap_room: CapRoom
    clock: Clock
    vault: PiiVault
    bids: BidSource
    #: the one pooled HTTP client for requests to buyers
    http: BuyerClient
    #: a buyer credential by the name a delivery spec gives it (``{secret: NAME}``)
    resolve_secret: Callable[[str], str]
    #: posts sold leads to their buyers
    outbox: DeliveryQueue
    #: stores pings off the ping's path; ask it before reading a ping just answered
    pings: PingWriter
    #: when a sign-in to the UI must wait (``Settings.sign_in_*``)
    sign_in: SignInPolicy = field(default_factory=SignInPolicy)
    #: sends the campaigns' conversion postbacks (``None``: queued rows wait for a worker)
    postbacks: PostbackDispatch | None = None
    #: tells every worker of every host that the configuration changed, once this one has
    #: loaded it (``store.config_notices``; without Redis the others' polls find it)
    announce_config: Callable[[], Awaitable[None]] = no_one_to_tell
    #: sends live bid orders' win and loss notices off the ping's path (``None``: none sent)
    notices: NoticeSender | None = None
    #: the sellers' rate limit counters (``store.rate_limits``): in Redis when configured
    rate_limits: RateLimitCounters = field(default_factory=LocalRateLimits)
    #: the duplicate-ping cache (``store.ping_repeats``): in Redis when configured
    ping_repeats: PingRepeats = field(default_factory=LocalPingRepeats)
