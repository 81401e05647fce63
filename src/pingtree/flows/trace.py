"""Opening a stored trace: the lines of the orders a best-first walk did not meet, rebuilt
from the configuration version its ping ran on (DESIGN §9 "Best-first at scale").

A ping's auction stores only the orders its walk met (``flows.auction``), with what the
rest needs to be told: the lead's fields without PII, its test mode, legs, moment and the
campaign's qualify-all rule. Opened, the trace answers as a full scan's would: one line per
order of the vertical and test mode.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pingtree.domain.eligibility import LeadContext
from pingtree.domain.fields import FieldValueError, values_from_json
from pingtree.domain.order_index import why_not
from pingtree.domain.orders import Leg
from pingtree.store.snapshot import SnapshotHolder

__all__ = ["opened_auction", "waterfall"]

log = logging.getLogger(__name__)


async def opened_auction(
    snapshots: SnapshotHolder, auction: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``auction`` (a stored trace) with a line for every order: as stored when it already
    has them (a full scan's, or one stored before walks), else the walk's lines followed
    by the others' rebuilt (``domain.order_index.why_not``). When the configuration
    version is no longer known, the walk's lines alone."""
    walked = auction.get("walked")
    if not isinstance(walked, Mapping):
        return auction
    told = {key: value for key, value in auction.items() if key != "walked"}
    snapshot = await snapshots.at(int(auction.get("snapshot_version", 0)))
    vertical = snapshot.config.verticals.get(walked["vertical"]) if snapshot else None
    if snapshot is None or vertical is None:
        return told
    try:
        values = values_from_json(vertical, walked.get("fields", {}))
    except FieldValueError:
        log.warning("a trace's fields no longer fit vertical %s", vertical.id)
        return told
    lead = LeadContext(
        values=values,
        test=bool(walked["test"]),
        now=dt.datetime.fromisoformat(walked["at"]),
        qualify_all=bool(walked["qualify_all"]),
        legs=frozenset(Leg(leg) for leg in walked["legs"]),
    )
    stored = list(auction.get("candidates", []))
    rest = why_not(
        snapshot.candidate_orders(vertical.id, lead.test),
        snapshot.config.buyers,
        lead,
        (row[0] for row in stored),
    )
    told["candidates"] = [*stored, *(line.to_json() for line in rest)]
    return told


def waterfall(sales: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """What the lead's sales say after the auction (``flows.sell.refill``, the waterfall),
    from its sales' ``(order id, status)`` in the order they were made: the final winners
    (the sales not rejected) and, when a post was rejected, a sale note such as "sold to
    taker_fixed after refuser_fixed rejected the post". Nothing when no post was rejected:
    the auction's winners are then the lead's."""
    made = list(sales)
    refused = [order_id for order_id, status in made if status == "rejected"]
    if not refused:
        return {}
    final = [order_id for order_id, status in made if status != "rejected"]
    sold = [order_id for order_id, status in made if status == "sold"]
    after = f"after {_names(refused)} rejected the post"
    if sold:
        note = f"sold to {_names(sold)} {after}"
        waiting = [order_id for order_id in final if order_id not in sold]
        if waiting:
            note += f"; {_names(waiting)} not settled yet"
    elif final:
        note = f"offered to {_names(final)} {after}; not settled yet"
    else:
        note = f"unsold {after}: no next bidder could take it"
    return {"final_winners": final, "sale_note": note}


def _names(order_ids: list[str]) -> str:
    return ", ".join(order_ids)
