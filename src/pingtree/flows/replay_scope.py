"""Which stored pings a draft cannot replay differently (``flows.whatif``).

A ping's auction reads its campaign (and supplier), its vertical, the vertical's orders
and their buyers, and the cap room its buyers' sales left. When the draft leaves all of
those alone, the draft's replay of the ping is the replay on the configuration in force,
and is not run twice. Compared on the configuration documents (the compiled filters are
functions, which compare by identity).

A vertical stays *clean* until the two replays' caps part: a ping that changed hands
sold to other buyers on each side, so every vertical those buyers buy in is replayed on
both sides from then on (a buyer's budget spans its verticals).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pingtree.config.schema import ConfigDocument, canonical

__all__ = ["ReplayScope"]

#: an entity's canonical form and the verticals it bears on, by kind then id
_Index = dict[str, dict[str, tuple[Any, frozenset[str]]]]


@dataclass
class ReplayScope:
    #: verticals whose pings replay the same on both sides (shrinks as caps part)
    clean: set[str]
    #: every vertical a buyer buys in, in either document
    buyer_verticals: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, stored: ConfigDocument, draft: ConfigDocument) -> ReplayScope:
        old, new = _index(stored), _index(draft)
        every: set[str] = set()
        touched: set[str] = set()
        for kind in old:
            for key in old[kind].keys() | new[kind].keys():
                a, b = old[kind].get(key), new[kind].get(key)
                for side in (a, b):
                    if side is not None:
                        every |= side[1]
                if (a[0] if a else None) != (b[0] if b else None):
                    touched |= (a[1] if a else frozenset()) | (b[1] if b else frozenset())
        buyers: defaultdict[str, frozenset[str]] = defaultdict(frozenset)
        for index in (old, new):
            for buyer_id, (_, verticals) in index["buyers"].items():
                buyers[buyer_id] |= verticals
        return cls(every - touched, dict(buyers))

    def parted(self, buyer_ids: Iterable[str]) -> None:
        """These buyers' sales differ between the two replays: their verticals are no
        longer clean."""
        for buyer_id in buyer_ids:
            self.clean -= self.buyer_verticals.get(buyer_id, frozenset())


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
