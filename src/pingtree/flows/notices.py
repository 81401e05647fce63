"""Which win and loss notices an auction sends (``delivery.notices``): to each live bid
order that bid and has a notice URL for what became of it.

A winner's ``{price}`` is its own price; a loser's is the best winning price (the price it
had to beat; empty when nothing was sold), and its ``{reason}`` is ``outbid`` when its
quote was ranked below the winners, else its outcome in the trace (``below_floor``,
``cap``…), or ``no_sale`` when the auction sold nothing.
"""

from __future__ import annotations

from pingtree.delivery.notices import Notice, fill_notice_url
from pingtree.domain.money import format_money
from pingtree.flows.auction import AuctionResult
from pingtree.store.snapshot import Snapshot

__all__ = ["notices_for"]


def notices_for(snapshot: Snapshot, result: AuctionResult, ping_id: str) -> list[Notice]:
    deliveries = snapshot.config.deliveries
    accepted = result.decision.accepted
    winners = {q.order_id: q for q in result.selection.winners} if accepted else {}
    quoted = {q.order_id for q in result.quotes}
    best = max((q.price for q in winners.values()), default=None)
    notices: list[Notice] = []
    for candidate in result.candidates:
        delivery = deliveries.get(candidate.order_id)
        if candidate.price is None or delivery is None or delivery.notices is None:
            continue  # it did not bid, or wants no notice
        won = winners.get(candidate.order_id)
        if won is not None:
            url, price, reason = delivery.notices.win, format_money(won.price), ""
        else:
            url = delivery.notices.loss
            price = format_money(best) if best is not None else ""
            if not accepted:
                reason = "no_sale"
            elif candidate.order_id in quoted:
                reason = "outbid"
            else:
                reason = candidate.outcome.value
        if url is None:
            continue
        notices.append(
            Notice(
                order_id=candidate.order_id,
                buyer_id=candidate.buyer_id,
                ping_id=ping_id,
                url=fill_notice_url(url, ping_id, price, reason),
                timeout_s=delivery.notices.timeout_s,
                won=won is not None,
            )
        )
    return notices
