"""Buyers' and suppliers' scorecards (:mod:`pingtree.store.scorecards`) as the admin API,
the parties' own APIs and the pages show them: plain dicts, rates to four decimals.

Who sees which: the staff any buyer's and any supplier's; a buyer's user or key its own
buyer's only, a supplier's its own supplier's only (another party's is 403, as if it were
a section it may not open). A supplier's scorecard holds no money, no buyer and no price; a
buyer's nothing of the suppliers. Disposition rates (contact, conversion) come from the
dispositions buyers reported of the sales in the range (``store.dispositions``); the
downstream value per sold lead is shown to the staff and to the buyer that reported it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pingtree.api.report_views import rate
from pingtree.api.scoping import open_section
from pingtree.domain.money import format_money
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store import scorecards
from pingtree.store.dispositions import DispositionRow, disposition_rates

__all__ = ["buyer_scorecard", "own_party", "supplier_scorecard"]


def own_party(principal: Principal) -> tuple[str, str]:
    """The ``("buyer" | "supplier", id)`` whose scorecard is ``principal``'s own;
    :class:`Forbidden` for the staff and anyone else, who have no scorecard of their own."""
    if principal.role == "buyer" and principal.buyer_id:
        return "buyer", principal.buyer_id
    if principal.role == "supplier" and principal.supplier_id:
        return "supplier", principal.supplier_id
    raise Forbidden(f"The {principal.role} role has no scorecard of its own.")


async def buyer_scorecard(
    ports: Ports, principal: Principal, buyer_id: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """``buyer_id``'s scorecard over ``[start, end)``; ``NotFound`` for an unknown buyer."""
    _may_see(principal, "buyer", buyer_id)
    config = ports.snapshots.current().config
    if buyer_id not in config.buyers:
        raise NotFound(f"no buyer {buyer_id!r}")
    await ports.pings.drained()  # every ping answered so far counts
    async with ports.sessions() as session:
        card = await scorecards.buyer_scorecard(session, buyer_id, start, end)
        dispositions = await disposition_rates(
            session, start, end, by=("buyer",), codes=_codes(ports), buyer_id=buyer_id
        )
    return {
        "buyer_id": buyer_id,
        "name": config.buyers[buyer_id].name,
        "start": start,
        "end": end,
        "pings": card.pings,
        "latency_ms": {"p50": card.p50_ms, "p90": card.p90_ms, "p99": card.p99_ms},
        "ping_timeouts": card.ping_timeouts,
        "ping_errors": card.ping_errors,
        "bids": card.bids,
        "bid_rate": rate(card.bid_rate),
        "wins": card.wins,
        "win_rate": rate(card.win_rate),
        "posts": card.posts,
        "posts_accepted": card.posts_accepted,
        "accepted_rate": rate(card.accepted_rate),
        "post_tries": card.post_tries,
        "post_failures": card.post_failures,
        "sold": card.sold,
        "returned": card.returned,
        "return_rate": rate(card.return_rate),
        **_dispositions(dispositions, with_value=True),
    }


async def supplier_scorecard(
    ports: Ports, principal: Principal, supplier_id: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """``supplier_id``'s scorecard over ``[start, end)``; ``NotFound`` for an unknown
    supplier. No money, no buyer."""
    _may_see(principal, "supplier", supplier_id)
    config = ports.snapshots.current().config
    if supplier_id not in config.suppliers:
        raise NotFound(f"no supplier {supplier_id!r}")
    await ports.pings.drained()
    async with ports.sessions() as session:
        card = await scorecards.supplier_scorecard(session, supplier_id, start, end)
        rows = await disposition_rates(session, start, end, by=("supplier",), codes=_codes(ports))
    dispositions = [row for row in rows if row.key.get("supplier") == supplier_id]
    return {
        "supplier_id": supplier_id,
        "name": config.suppliers[supplier_id].name,
        "start": start,
        "end": end,
        "pings": card.pings,
        "accepted_pings": card.accepted_pings,
        "acceptance_rate": rate(card.acceptance_rate),
        "leads": card.leads,
        "posts": card.posts,
        "ping_to_post": rate(card.ping_to_post),
        "sold_leads": card.sold_leads,
        "sell_rate": rate(card.sell_rate),
        "sold": card.sold,
        "returned": card.returned,
        "return_rate": rate(card.return_rate),
        **_dispositions(dispositions, with_value=False),
    }


def _may_see(principal: Principal, kind: str, party_id: str) -> None:
    if principal.is_staff:
        open_section(principal, "scorecards")
        return
    own = principal.buyer_id if kind == "buyer" else principal.supplier_id
    if principal.role != kind or own != party_id:
        raise Forbidden(f"The {principal.role} role may not see this {kind}'s scorecard.")


def _codes(ports: Ports) -> dict[str, Any]:
    config = ports.snapshots.current().config
    return {vertical.id: vertical.dispositions for vertical in config.verticals.values()}


def _dispositions(rows: list[DispositionRow], *, with_value: bool) -> dict[str, Any]:
    """The disposition figures of the party's one row (none: nothing was sold)."""
    row = rows[0] if rows else DispositionRow({})
    shown: dict[str, Any] = {
        "dispositions": {
            "sold": row.sold,
            "disposed": row.disposed,
            "contacted": row.contacted,
            "converted": row.converted,
            "disposition_rate": rate(row.disposition_rate),
            "contact_rate": rate(row.contact_rate),
            "conversion_rate": rate(row.conversion_rate),
            "codes": dict(sorted(row.codes.items())),
        }
    }
    if with_value:
        per_sold = row.value_per_sold
        shown["dispositions"]["value_per_sold"] = (
            None if per_sold is None else format_money(per_sold)
        )
    return shown
