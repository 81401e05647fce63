"""What became of one order's ping: its outcome from the buyer's answer (or its failure),
and its line in the delivery log. Pure but for ``record_ping``; used by
:mod:`pingtree.delivery.fanout`.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from pingtree.delivery.attempts import ATTEMPT_CONTEXT, AttemptLog, exchange_attempt, since_ms
from pingtree.delivery.client import RawResponse
from pingtree.delivery.errors import AnswerError, AnswerErrorCode
from pingtree.delivery.read import MAX_ANSWER_BYTES, BuyerAnswer
from pingtree.delivery.render import OutboundRequest
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import Outcome
from pingtree.flows.ports import BidResult

__all__ = [
    "MAX_REASON_CHARS",
    "SEND_REASONS",
    "answer_reason",
    "error_result",
    "judge",
    "record_ping",
    "record_refused_try",
]

logger = logging.getLogger(__name__)

#: a trace reason is cut to this many characters
MAX_REASON_CHARS = 120
#: what a send failure is called in the trace (never the exception text: it names the URL,
#: which may hold a query-string key)
SEND_REASONS = {
    "connect": "connect failed",
    "reset": "reset",
    "too_large": f"answer over {MAX_ANSWER_BYTES} bytes",
    "protocol": "invalid HTTP answer",
}


def record_ping(
    log: AttemptLog,
    order: Order,
    started: float,
    request: OutboundRequest | None,
    raw: RawResponse | None,
    answer: BuyerAnswer | None,
    result: BidResult,
    error: str,
    secrets: list[str],
    late: bool,
) -> None:
    """Keep one ping exchange in the delivery log; ``late``: it ended after the fan-out's
    wait (the auction counted it a timeout)."""
    duration = since_ms(started)
    outcome = str(result.outcome)
    if late:
        # the auction counted it as a timeout; what the buyer said is kept for people
        error = f"answered after the deadline ({outcome}, {duration} ms)"
        outcome = str(Outcome.TIMEOUT)
    parsed: dict[str, object] = {}
    if answer is not None:
        parsed = {
            "accepted": answer.accepted,
            "bid": str(answer.bid) if answer.bid is not None else None,
            **(
                {"leg_bids": {str(k): str(v) for k, v in answer.leg_bids.items()}}
                if answer.leg_bids
                else {}
            ),
            "token": answer.token,
            "reason": answer.reason,
        }
    _log_try(log, order, started, outcome, error, request, raw, parsed, secrets)


def record_refused_try(
    log: AttemptLog,
    order: Order,
    started: float,
    request: OutboundRequest,
    secrets: list[str],
    tries: int,
    retries: int,
) -> None:
    """Keep a ping's try whose connection was refused and that is sent again: its own
    line (outcome ``retry``), so the log shows one attempt per try."""
    error = f"{SEND_REASONS['connect']}: try {tries} of {retries + 1}, sent again"
    _log_try(log, order, started, "retry", error, request, None, {}, secrets)


def _log_try(
    log: AttemptLog,
    order: Order,
    started: float,
    outcome: str,
    error: str,
    request: OutboundRequest | None,
    raw: RawResponse | None,
    parsed: dict[str, object],
    secrets: list[str],
) -> None:
    """One try of a ping in the delivery log, with the ping and lead it was for; a log that
    fails is logged, never the ping's failure."""
    ping_id, lead_id = ATTEMPT_CONTEXT.get()
    try:
        log.record(
            exchange_attempt(
                "ping",
                order.id,
                order.buyer_id,
                started=started,
                outcome=outcome,
                error=error,
                request=request,
                raw=raw,
                parsed=parsed,
                secrets=secrets,
                ping_id=ping_id,
                lead_id=lead_id,
            )
        )
    except Exception:
        logger.exception("recording a ping try of order %s failed", order.id)


def judge(order: Order, answer: BuyerAnswer, latency_ms: int) -> BidResult:
    """The outcome of a buyer's readable answer."""
    if not answer.accepted:
        return BidResult(
            order.id, Outcome.NO_BID, reason=answer.reason or "rejected", latency_ms=latency_ms
        )
    fixed = [p for p in (order.pricing.exclusive, order.pricing.shared) if p is not None]
    if order.pricing.pinged and fixed:
        # an accept-only ping: the buyer said yes; the price is the order's own
        return BidResult(
            order.id,
            Outcome.FIXED,
            price=max(fixed),
            reason="accepted",
            latency_ms=latency_ms,
            token=answer.token,
        )
    if answer.leg_bids:
        return judge_legs(order, answer, latency_ms)
    if answer.bid is None:  # accepted without a price, or 0.00
        return BidResult(order.id, Outcome.NO_BID, reason="no price", latency_ms=latency_ms)
    pricing = order.pricing
    if pricing.below_floor(answer.bid):
        said = "not over" if pricing.floor_strict else "below"
        return BidResult(
            order.id,
            Outcome.BELOW_FLOOR,
            price=answer.bid,
            reason=f"{said} floor {pricing.floor}",
            latency_ms=latency_ms,
        )
    return BidResult(
        order.id, Outcome.BID, price=answer.bid, latency_ms=latency_ms, token=answer.token
    )


def judge_legs(order: Order, answer: BuyerAnswer, latency_ms: int) -> BidResult:
    """A multi-leg bid: each leg the order buys at its own price, kept only within the
    order's ``max_bid`` and floor (each applies per leg). The line reads the best price
    kept and says each leg's; the auction quotes each leg at its own."""
    pricing = order.pricing
    kept: dict[Leg, Decimal] = {}
    refused: list[str] = []
    above: list[Decimal] = []
    below: list[Decimal] = []
    for leg in sorted(pricing.legs):
        price = answer.leg_price(leg)
        if price is None:
            continue
        if pricing.max_bid is not None and price > pricing.max_bid:
            above.append(price)
            refused.append(f"{leg} {price} above max_bid {pricing.max_bid}")
        elif pricing.below_floor(price):
            below.append(price)
            said = "not over" if pricing.floor_strict else "below"
            refused.append(f"{leg} {price} {said} floor {pricing.floor}")
        else:
            kept[leg] = price
    if kept:
        said_legs = ", ".join(f"{leg} {price}" for leg, price in kept.items())
        return BidResult(
            order.id,
            Outcome.BID,
            price=max(kept.values()),
            reason="; ".join([said_legs, *refused])[:MAX_REASON_CHARS],
            latency_ms=latency_ms,
            token=answer.token,
            leg_prices=kept,
        )
    why = "; ".join(refused)[:MAX_REASON_CHARS]
    if above:
        return BidResult(order.id, Outcome.ABOVE_MAX_BID, reason=why, latency_ms=latency_ms)
    if below:
        return BidResult(
            order.id, Outcome.BELOW_FLOOR, price=max(below), reason=why, latency_ms=latency_ms
        )
    return BidResult(order.id, Outcome.NO_BID, reason="no price", latency_ms=latency_ms)


def error_result(order: Order, reason: str, latency_ms: int | None = None) -> BidResult:
    return BidResult(
        order.id, Outcome.ERROR, reason=reason[:MAX_REASON_CHARS], latency_ms=latency_ms
    )


def answer_reason(exc: AnswerError) -> str:
    """``HTTP 503``, ``invalid JSON``, ``malformed XML``…: the parser's details (positions,
    snippets of the buyer's body) stay in the delivery log."""
    if exc.code is AnswerErrorCode.UNREADABLE:
        return exc.msg.split(":", 1)[0]
    return exc.msg
