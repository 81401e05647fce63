"""What a draft cannot change in a replay (``flows.whatif``), compared on the
configuration documents (the compiled filters are functions, which compare by identity).

A ping's auction reads its campaign (and supplier), its vertical, the vertical's orders
and their buyers, and the cap room its buyers' sales left. The scope sorts every
campaign's pings into three:

- *clean*: nothing of that changed; the draft's replay is the one on the configuration in
  force, and is not run twice;
- *orders*: only some of the vertical's orders changed (changed, added or removed, or
  their buyer changed): the ping is replayed on the draft only when one of those orders
  could quote for it on either side (``flows.replay_skip``);
- *full*: its campaign, supplier or vertical changed: always replayed.

Caps part the two sides: a ping that changed hands sold to other buyers on each side, so
every order of those buyers with a cap or a budget counts as changed from then on (a
buyer's budget spans its verticals; an order with neither has room on both sides). The
same comparison, made between the configuration a stored ping ran on and the one in
force, says whether the stored auction is the replay's (``StoredOutcomes``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pingtree.config.schema import ConfigDocument, canonical

__all__ = ["Reach", "ReplayScope"]

#: an entity's canonical form and the verticals it bears on, by kind then id
_Index = dict[str, dict[str, tuple[Any, frozenset[str]]]]


class Reach(StrEnum):
    """How far a draft reaches into one campaign's pings (see the module)."""

    CLEAN = "clean"
    ORDERS = "orders"
    FULL = "full"


@dataclass
class ReplayScope:
    #: verticals whose pings replay the same on both sides (shrinks as caps part)
    clean: set[str]
    #: every vertical a buyer buys in, in either document
    buyer_verticals: Mapping[str, frozenset[str]]
    #: verticals changed themselves: every ping of them is replayed
    full_verticals: frozenset[str] = frozenset()
    #: campaigns changed (or their supplier): every ping of them is replayed
    full_campaigns: frozenset[str] = frozenset()
    #: the orders that changed, by vertical (an order moved between verticals is in both)
    changed_orders: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: every order of a buyer, in either document, with its verticals
    buyer_orders: Mapping[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    #: the orders in both documents whose eligibility reads the same (all but prices,
    #: rank, caps and delivery alike, and their buyer's too): a stored line's filter or
    #: schedule outcome holds on both sides (``flows.replay_skip``)
    same_eligibility: frozenset[str] = frozenset()

    @classmethod
    def of(cls, stored: ConfigDocument, draft: ConfigDocument) -> ReplayScope:
        old, new = _index(stored), _index(draft)
        every: set[str] = set()
        touched: set[str] = set()
        changed: dict[str, set[str]] = {kind: set() for kind in old}
        for kind in old:
            for key in old[kind].keys() | new[kind].keys():
                a, b = old[kind].get(key), new[kind].get(key)
                for side in (a, b):
                    if side is not None:
                        every |= side[1]
                if (a[0] if a else None) != (b[0] if b else None):
                    touched |= (a[1] if a else frozenset()) | (b[1] if b else frozenset())
                    changed[kind].add(key)
        buyers: defaultdict[str, frozenset[str]] = defaultdict(frozenset)
        orders_of: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        for index in (old, new):
            for buyer_id, (_, verticals) in index["buyers"].items():
                buyers[buyer_id] |= verticals
            for order_id, ((buyer_id, _), verticals) in index["orders"].items():
                orders_of[buyer_id] |= {(vertical, order_id) for vertical in verticals}
        campaigns = set(changed["campaigns"])
        for index in (old, new):
            for campaign_id, ((supplier_id, _), _) in index["campaigns"].items():
                if supplier_id in changed["suppliers"]:
                    campaigns.add(campaign_id)
        scope = cls(
            every - touched,
            dict(buyers),
            frozenset(changed["verticals"]),
            frozenset(campaigns),
            buyer_orders={b: frozenset(o) for b, o in orders_of.items()},
            same_eligibility=_same_eligibility(stored, draft),
        )
        for index in (old, new):
            for order_id, (_, verticals) in index["orders"].items():
                if order_id in changed["orders"]:
                    for vertical in verticals:
                        scope.changed_orders[vertical].add(order_id)
        scope._add_buyers(changed["buyers"])
        return scope

    def reach(self, campaign_id: str, vertical_id: str) -> Reach:
        """How far the draft reaches into this campaign's pings."""
        if vertical_id in self.full_verticals or campaign_id in self.full_campaigns:
            return Reach.FULL
        if vertical_id in self.clean:
            return Reach.CLEAN
        return Reach.ORDERS

    def orders_changed(self, vertical_id: str) -> set[str]:
        """The orders of ``vertical_id`` the draft changed (or whose buyers' caps parted)."""
        return self.changed_orders.get(vertical_id, set())

    def parted(self, buyer_ids: Iterable[str], capped: AbstractSet[str] | None = None) -> None:
        """These buyers' sales differ between the two replays: their orders count as
        changed, and those orders' verticals are no longer clean. With ``capped`` (the
        orders with a cap or a budget, their own or their buyer's, on either side) only
        those: an order with neither has room on both sides whatever its buyer sold."""
        for buyer_id in buyer_ids:
            for vertical, order_id in self.buyer_orders.get(buyer_id, frozenset()):
                if capped is None or order_id in capped:
                    self.clean.discard(vertical)
                    self.changed_orders[vertical].add(order_id)

    def _add_buyers(self, buyer_ids: Iterable[str]) -> None:
        for buyer_id in buyer_ids:
            for vertical, order_id in self.buyer_orders.get(buyer_id, frozenset()):
                self.changed_orders[vertical].add(order_id)


#: what an order's (or its buyer's) spec holds that does not decide whether it may take a
#: lead: prices, rank, caps, budgets, delivery, names (the legs it buys are compared on the
#: compiled orders)
_NOT_ELIGIBILITY = {
    "name",
    "pricing",
    "priority",
    "weight",
    "caps",
    "dedup_days",
    "delivery",
    "return_window_days",
}
_BUYER_NOT_ELIGIBILITY = {"orders", "name", "caps", "budget"}


def _eligibility(doc: ConfigDocument) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for buyer in doc.buyers:
        key = canonical(buyer, exclude=_BUYER_NOT_ELIGIBILITY)
        for order in buyer.orders:
            found[order.id] = (buyer.id, key, canonical(order, exclude=_NOT_ELIGIBILITY))
    return found


def _same_eligibility(stored: ConfigDocument, draft: ConfigDocument) -> frozenset[str]:
    old, new = _eligibility(stored), _eligibility(draft)
    return frozenset(key for key, value in old.items() if new.get(key) == value)


def _index(doc: ConfigDocument) -> _Index:
    index: _Index = {"verticals": {}, "suppliers": {}, "campaigns": {}, "buyers": {}}
    index["orders"] = {}
    for vertical in doc.verticals:
        index["verticals"][vertical.id] = (canonical(vertical), frozenset({vertical.id}))
    for supplier in doc.suppliers:
        verticals = frozenset(c.vertical for c in supplier.campaigns)
        index["suppliers"][supplier.id] = (canonical(supplier, exclude={"campaigns"}), verticals)
        for campaign in supplier.campaigns:
            spec = (supplier.id, canonical(campaign))
            index["campaigns"][campaign.id] = (spec, frozenset({campaign.vertical}))
    for buyer in doc.buyers:
        verticals = frozenset(o.vertical for o in buyer.orders)
        index["buyers"][buyer.id] = (canonical(buyer, exclude={"orders"}), verticals)
        for order in buyer.orders:
            spec = (buyer.id, canonical(order))
            index["orders"][order.id] = (spec, frozenset({order.vertical}))
    return index
