"""One post of a sold lead to its buyer: render → send → read → one verdict (DESIGN §8.6).

A post timeout is not a rejection. The verdicts:

- ``accepted``: the buyer took the lead (its redirect URL, if any, goes to the seller);
- ``rejected``: the buyer said no in a readable answer (the lead may go to the next bidder);
- ``failed``: nothing reached the buyer and nothing will (the request cannot be built);
- ``retry``: nothing was processed: a connect failure, or HTTP 429/502/503. Safe to re-send;
- ``unknown``: the request may have been processed: a timeout or reset after sending,
  another 5xx, an unreadable answer. Never re-sent blindly: the caller follows the order's
  ``on_unknown``.

Every post carries ``Idempotency-Key: <sale id>``, so a buyer that dedupes can take a
deliberate re-send of an unknown outcome safely.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pingtree.delivery.attempts import AttemptLog, PiiValues, exchange_attempt, mask_pii
from pingtree.delivery.client import BuyerClient, RawResponse, SendError, send
from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.errors import AnswerError, RenderError
from pingtree.delivery.read import MAX_ANSWER_BYTES, BuyerAnswer, read_answer
from pingtree.delivery.render import OutboundRequest, render, render_masked, sent_in_place
from pingtree.domain.verticals import LeadValue

__all__ = ["RETRYABLE_STATUSES", "PostContext", "PostVerdict", "PostedLead", "post_lead"]

logger = logging.getLogger(__name__)

#: statuses by which a buyer says it did not process the request
RETRYABLE_STATUSES = frozenset({429, 502, 503})


class PostVerdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    RETRY = "retry"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PostedLead:
    verdict: PostVerdict
    #: the buyer's reason, or what went wrong (never a lead value)
    reason: str = ""
    redirect_url: str | None = None


@dataclass(frozen=True, slots=True)
class PostContext:
    """Who the post is for, for the delivery log."""

    sale_id: str
    order_id: str
    buyer_id: str
    lead_id: str
    ping_id: str | None


async def post_lead(
    client: BuyerClient,
    step: CompiledStep,
    values: Mapping[str, LeadValue],
    *,
    token: str | None,
    context: PostContext,
    pii: Mapping[str, str],
    resolve_secret: Callable[[str], str],
    log: AttemptLog | None,
    tries_left: bool = False,
    kind: str = "post",
) -> PostedLead:
    """Post the full lead ``values`` (with the buyer's ``token``) by ``step``; never raises
    for the buyer's failure. ``pii`` (field → value as text) is masked in the log (the
    request rendered again with placeholders) and in the verdict's reason (a buyer may
    say why with the lead's own words). ``tries_left``: the caller re-sends a ``retry``
    verdict; without one the log says what happened, ``failed`` (nothing reached the
    buyer), never ``retry``. ``kind``: the delivery log's word for the step (``chain``
    for a step after the post)."""
    started = time.monotonic()
    secrets: list[str] = []
    request: OutboundRequest | None = None
    raw: RawResponse | None = None
    answer: BuyerAnswer | None = None

    def resolve(name: str) -> str:
        value = resolve_secret(name)
        secrets.append(value)
        return value

    try:
        request = _with_idempotency_key(
            render(step, values, token=token, resolve_secret=resolve), context.sale_id
        )
        raw = await send(
            client,
            request.method,
            request.url,
            request.headers,
            request.body,
            timeout=step.timeout_ms / 1000,
            max_response_bytes=MAX_ANSWER_BYTES,
        )
        answer = read_answer(step, raw.status, raw.headers, raw.body)
        posted = _judge(answer)
    except (RenderError, KeyError) as exc:
        reason = f"secret {exc.args[0]} is not set" if isinstance(exc, KeyError) else str(exc)
        posted = PostedLead(PostVerdict.FAILED, f"could not build the request: {reason}")
    except SendError as exc:
        verdict = PostVerdict.UNKNOWN if exc.sent else PostVerdict.RETRY
        posted = PostedLead(verdict, f"{exc.kind}{' after sending' if exc.sent else ''}")
    except AnswerError as exc:
        status = raw.status if raw is not None else None
        verdict = PostVerdict.RETRY if status in RETRYABLE_STATUSES else PostVerdict.UNKNOWN
        posted = PostedLead(verdict, f"HTTP {status}" if status and status >= 429 else exc.msg)
    except Exception as exc:
        # our bug: the request may or may not have left, so it is not known either
        logger.exception("posting sale %s failed", context.sale_id)
        posted = PostedLead(PostVerdict.UNKNOWN, f"internal error ({type(exc).__name__})")
    shown = None
    said_back: PiiValues = pii
    if pii and request is not None and log is not None:
        shown = _shown(step, values, token, context, pii, resolve_secret)
        said_back = _said_back(step, request, shown, pii)
    if pii and posted.reason:
        reason = mask_pii(posted.reason, said_back, cut=True)  # a buyer's reason comes cut
        posted = PostedLead(posted.verdict, reason, posted.redirect_url)
    if log is not None:
        logged = posted
        if posted.verdict is PostVerdict.RETRY and not tries_left:
            logged = PostedLead(PostVerdict.FAILED, f"{posted.reason} (not retried)")
        exchange = (request, raw, answer)
        _record(log, kind, context, started, exchange, logged, secrets, said_back, shown)
    return posted


def _said_back(
    step: CompiledStep,
    request: OutboundRequest,
    shown: OutboundRequest | None,
    pii: Mapping[str, str],
) -> PiiValues:
    """The PII values an answer may say back: each value, and for a template body what
    its filters made of the value (an encoder's shapes :func:`mask_pii` knows itself)."""
    if shown is None or step.body is None or step.body.template is None:
        return pii
    made = sent_in_place(
        shown.body.decode("utf-8", "replace"),
        request.body.decode("utf-8", "replace"),
        frozenset(pii),
    )
    # an initial (``first_name[0]``) is no value to hunt for: it would mask every "A"
    kept = [(name, text) for name, text in made if len(text) >= 3 and text != pii.get(name)]
    return [*pii.items(), *kept]


def _shown(
    step: CompiledStep,
    values: Mapping[str, LeadValue],
    token: str | None,
    context: PostContext,
    pii: Mapping[str, str],
    resolve_secret: Callable[[str], str],
) -> OutboundRequest | None:
    """The request as the log keeps it: rendered again, after it was sent, with the PII
    values as placeholders; ``None`` (the request sent is masked by search instead) when
    there is no PII or a template cannot take a placeholder for a value."""
    if not pii:
        return None
    try:
        masked = render_masked(
            step, values, frozenset(pii), token=token, resolve_secret=resolve_secret
        )
    except (RenderError, KeyError):
        return None
    return _with_idempotency_key(masked, context.sale_id)


def _with_idempotency_key(request: OutboundRequest, sale_id: str) -> OutboundRequest:
    if any(name.lower() == "idempotency-key" for name, _ in request.headers):
        return request
    return OutboundRequest(
        request.method, request.url, (*request.headers, ("Idempotency-Key", sale_id)), request.body
    )


def _judge(answer: BuyerAnswer) -> PostedLead:
    if answer.accepted:
        return PostedLead(PostVerdict.ACCEPTED, answer.reason or "", answer.redirect_url)
    return PostedLead(PostVerdict.REJECTED, answer.reason or "rejected")


def _record(
    log: AttemptLog,
    kind: str,
    context: PostContext,
    started: float,
    exchange: tuple[OutboundRequest | None, RawResponse | None, BuyerAnswer | None],
    posted: PostedLead,
    secrets: list[str],
    pii: PiiValues,
    shown: OutboundRequest | None,
) -> None:
    request, raw, answer = exchange
    parsed: dict[str, object] = {}
    if answer is not None:
        parsed = {
            "accepted": answer.accepted,
            "redirect_url": answer.redirect_url,
            "reason": answer.reason,
        }
    error = "" if posted.verdict is PostVerdict.ACCEPTED else posted.reason
    try:
        log.record(
            exchange_attempt(
                kind,
                context.order_id,
                context.buyer_id,
                started=started,
                outcome=str(posted.verdict),
                error=error,
                request=request,
                raw=raw,
                parsed=parsed,
                secrets=secrets,
                pii=pii,
                shown=shown,
                ping_id=context.ping_id,
                lead_id=context.lead_id,
            )
        )
    except Exception:
        logger.exception("recording the post of sale %s failed", context.sale_id)
