"""The live-bid fan-out: every order's ping step, sent at once, bounded by one deadline.

A ``bid`` order's ping asks for a price; a ``fixed`` order's ping is accept-only (a yes or
no and a token): accepted, it is priced at the order's own price (outcome ``fixed``).

:class:`HttpBids` is the :class:`~pingtree.flows.ports.BidSource` of a running server
(DESIGN §2 "price", §8.2 "Deadlines"; STYLE "One deadline for the fan-out")::

    for each order:  skip it (skipped_slow) when its recent p90 cannot fit in the time left,
                     else start a task: render → send → read_answer → one outcome
    wait for the tasks until the deadline (asyncio.wait)
    still running → timeout; the request finishes in the background, so its connection
    stays pooled and its latency is learned

Each task catches its own failure and returns its outcome; nothing escapes ``collect``.
Requests are told less than we wait: a request's own timeout ends ``reserve_ms`` before the
deadline, so a slow buyer normally ends as its task's own ``timeout`` and the wait at the
deadline is only the safety net.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import uuid_utils

from pingtree.delivery.attempts import (
    ATTEMPT_CONTEXT,
    Attempt,
    AttemptLog,
    since_ms,
)
from pingtree.delivery.client import BuyerClient, RawResponse, SendError, send
from pingtree.delivery.compiled import CompiledDelivery, CompiledLimits, CompiledStep
from pingtree.delivery.errors import AnswerError, AnswerErrorCode, RenderError
from pingtree.delivery.guard import Admission, OrderGuard
from pingtree.delivery.latency import LatencyWindow
from pingtree.delivery.ping_outcomes import (
    MAX_REASON_CHARS,
    SEND_REASONS,
    answer_reason,
    error_result,
    judge,
    record_ping,
    record_refused_try,
)
from pingtree.delivery.read import MAX_ANSWER_BYTES, BuyerAnswer, read_answer
from pingtree.delivery.render import OutboundRequest, render
from pingtree.domain.orders import Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.verticals import LeadValue
from pingtree.flows.ports import BidResult

__all__ = ["HttpBids"]

logger = logging.getLogger(__name__)

#: a buyer skipped for its p90 is still asked once in this many pings, so a buyer that got
#: faster is noticed (a skipped buyer teaches us nothing)
_PROBE_EVERY = 20
#: requests left running past their deadline; beyond this, new ones are cancelled instead
_MAX_BACKGROUND = 1024
#: the pause before a ping's n-th re-send after a refused connection: n times this
_RETRY_PAUSE_S = 0.02


class HttpBids:
    """Ask every ``bid`` order's ping endpoint for its price at once, over one pooled client.

    ``resolve_secret(NAME)`` a buyer credential (``KeyError`` when it is not set). With
    a ``log``, every exchange (and every skip) is recorded as an :class:`Attempt` under
    the ping or lead id of :data:`ATTEMPT_CONTEXT`. ``reserve_ms`` is how much earlier
    than the deadline a request's own timeout ends.

    Call :meth:`close` before closing ``client``: it cancels the requests still finishing
    in the background.
    """

    def __init__(
        self,
        client: BuyerClient,
        resolve_secret: Callable[[str], str],
        log: AttemptLog | None = None,
        *,
        reserve_ms: int = 5,
    ) -> None:
        self._client = client
        self._resolve_secret = resolve_secret
        self._log = log
        self._reserve_ms = reserve_ms
        self._latency: dict[str, LatencyWindow] = {}
        self._guards: dict[str, OrderGuard] = {}
        self._background: set[asyncio.Task[BidResult]] = set()

    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> list[BidResult]:
        """One result per order, by ``deadline`` (a ``time.monotonic()`` instant), each
        asked by its delivery in ``deliveries`` (the auction's own configuration snapshot).

        ``values`` must hold only non-PII fields (a ping step is compiled to refuse PII
        anyway). Outcomes: ``bid`` (accepted, a price at or above the floor, with the
        buyer's token), ``below_floor``, ``above_max_bid`` (a price over the order's
        ``max_bid``: not a failure), ``no_bid`` (rejected, no price, or 0), ``timeout``,
        ``error`` (render, network, 5xx/429, unreadable answer; the reason is short and
        holds no lead value), or with no request sent: ``skipped_slow``, ``throttled``
        (over the order's concurrency or rate limit) or ``circuit_open``. Never raises, except
        on cancellation.
        """
        started = time.monotonic()
        fan = _FanOut()
        results: list[BidResult] = []
        tasks: dict[asyncio.Task[BidResult], Order] = {}
        try:
            left_ms = (deadline - started) * 1000
            for order in orders:
                delivery = deliveries.get(order.id)
                step = delivery.ping if delivery is not None else None
                if step is None:
                    results.append(error_result(order, "no ping step configured"))
                    continue
                skip = self._skip(order.id, step, left_ms)
                if skip is not None:
                    results.append(BidResult(order.id, Outcome.SKIPPED_SLOW, reason=skip))
                    self._record_skip(order, step, Outcome.SKIPPED_SLOW, skip)
                    continue
                assert delivery is not None  # the step came from it
                guard = self._guards.setdefault(order.id, OrderGuard())
                admission = guard.admit(delivery.limits, started)
                if not isinstance(admission, Admission):
                    outcome, reason = admission
                    results.append(BidResult(order.id, outcome, reason=reason))
                    self._record_skip(order, step, outcome, reason)
                    continue
                timeout = min(step.timeout_ms, left_ms - self._reserve_ms) / 1000
                task = asyncio.create_task(
                    self._guarded(
                        guard, admission, delivery.limits, order, step, values, timeout, fan
                    )
                )
                tasks[task] = order
        except Exception:
            # a bug of ours (or a configuration not loaded) costs this auction its live
            # bids, never the ping: every order not settled yet is an error
            logger.exception("live-bid fan-out failed")
            settled = {r.order_id for r in results} | {o.id for o in tasks.values()}
            results += [error_result(o, "internal error") for o in orders if o.id not in settled]
        if not tasks:
            return results
        try:
            done, pending = await asyncio.wait(tasks, timeout=max(deadline - time.monotonic(), 0))
        except BaseException:
            # the ping itself was cancelled: its requests end in the background
            fan.closed = True
            for task in tasks:
                if not task.done():
                    self._keep(task)
            raise
        fan.closed = True  # same step as the partition: a task ending later is late
        waited = round((time.monotonic() - started) * 1000)
        results += [task.result() for task in done]
        for task in pending:
            self._keep(task)
            order = tasks[task]
            results.append(
                BidResult(
                    order.id, Outcome.TIMEOUT, reason="no answer by the deadline", latency_ms=waited
                )
            )
        return results

    async def close(self) -> None:
        """Cancel the requests still finishing in the background and wait for them."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def in_background(self) -> int:
        """Requests left running past their fan-out's deadline, not finished yet."""
        return len(self._background)

    def p90_ms(self, order_id: str) -> int | None:
        """The order's recent p90 latency; ``None`` before enough answers were seen."""
        stats = self._latency.get(order_id)
        return stats.p90() if stats is not None else None

    # -- one order ------------------------------------------------------------------------

    def _skip(self, order_id: str, step: CompiledStep, left_ms: float) -> str | None:
        """Why the order is not asked at all, or ``None``."""
        budget_ms = left_ms - self._reserve_ms
        if budget_ms <= 0:
            return "no time left"
        # a configured timeout longer than the time left only shortens the request: the
        # buyer is told less than we wait; what it has shown it needs (its p90) decides
        stats = self._latency.get(order_id)
        p90 = stats.p90() if stats is not None else None
        if stats is not None and p90 is not None and p90 > budget_ms:
            stats.skips += 1
            if stats.skips % _PROBE_EVERY:
                return f"p90 {p90} ms > {budget_ms:.0f} ms left"
        return None

    async def _guarded(
        self,
        guard: OrderGuard,
        admission: Admission,
        limits: CompiledLimits,
        order: Order,
        step: CompiledStep,
        values: Mapping[str, LeadValue],
        timeout: float,  # noqa: ASYNC109 (a budget cut from the fan-out's deadline)
        fan: _FanOut,
    ) -> BidResult:
        outcome = Outcome.ERROR
        try:
            result = await self._ask(order, step, values, timeout, fan)
            outcome = result.outcome
            return result
        finally:
            guard.done(admission, outcome, limits, time.monotonic())

    async def _ask(
        self,
        order: Order,
        step: CompiledStep,
        values: Mapping[str, LeadValue],
        timeout: float,  # noqa: ASYNC109 (a budget cut from the fan-out's deadline)
        fan: _FanOut,
    ) -> BidResult:
        started = time.monotonic()
        secrets: list[str] = []
        missing: list[str] = []
        request: OutboundRequest | None = None
        raw: RawResponse | None = None
        answer: BuyerAnswer | None = None
        error = ""
        #: when the last try left: each refused try has its own line in the log
        tries = _Tries(started)

        def resolve(name: str) -> str:
            try:
                value = self._resolve_secret(name)
            except KeyError as exc:
                said = exc.args[0] if exc.args else None
                # the resolver's own words when it has any ("… is not set (PINGTREE_…)")
                if isinstance(said, str) and said.startswith("secret "):
                    missing.append(said)
                else:
                    missing.append(f"secret {name} is not set")
                raise
            secrets.append(value)
            return value

        try:
            request = render(step, values, resolve_secret=resolve)

            def refused(try_started: float, tries: int) -> None:
                if self._log is not None:
                    record_refused_try(
                        self._log, order, try_started, request, secrets, tries, step.retries
                    )

            # the request's own timeout starts when it leaves, as a single try's did
            raw = await self._send(step, request, time.monotonic() + timeout, tries, refused)
            answer = read_answer(
                step, raw.status, raw.headers, raw.body, max_bid=order.pricing.max_bid
            )
            result = judge(order, answer, since_ms(started))
        except RenderError as exc:
            error = str(exc)
            reason = missing[0] if missing else error
            result = error_result(order, reason, since_ms(started))
        except SendError as exc:
            error = str(exc)
            if exc.kind == "timeout":
                result = BidResult(
                    order.id,
                    Outcome.TIMEOUT,
                    reason=f"no answer in {timeout * 1000:.0f} ms",
                    latency_ms=since_ms(started),
                )
            else:
                result = error_result(
                    order, SEND_REASONS.get(exc.kind, exc.kind), since_ms(started)
                )
        except AnswerError as exc:
            error = exc.msg
            if exc.code is AnswerErrorCode.ABOVE_MAX_BID:
                # the buyer answered well; we will not pay its price: a business outcome
                result = BidResult(
                    order.id,
                    Outcome.ABOVE_MAX_BID,
                    reason=exc.msg[:MAX_REASON_CHARS],
                    latency_ms=since_ms(started),
                )
            else:
                result = error_result(order, answer_reason(exc), since_ms(started))
        except Exception as exc:
            # our bug must cost this one buyer its bid, never the whole auction
            logger.exception("live bid of order %s failed", order.id)
            error = f"internal error ({type(exc).__name__})"
            result = error_result(order, error, since_ms(started))
        if raw is not None or result.outcome is Outcome.TIMEOUT:
            self._learn(order.id, result.latency_ms or 0)
        if self._log is not None:
            record_ping(
                self._log,
                order,
                tries.started,
                request,
                raw,
                answer,
                result,
                error,
                secrets,
                fan.closed,
            )
        return result

    async def _send(
        self,
        step: CompiledStep,
        request: OutboundRequest,
        ends: float,
        started: _Tries,
        refused: Callable[[float, int], None],
    ) -> RawResponse:
        """Send the ping; re-send it, up to the step's ``retries``, only when the connection
        was refused (nothing reached the buyer), and only in the time left before ``ends``
        (a ``time.monotonic()`` instant). ``started`` is set as each try leaves; a refused
        try that is sent again is told to ``refused`` (when it left, its number)."""
        tries = 0
        while True:
            left = ends - time.monotonic()
            if left <= 0:
                raise SendError("timeout", "no time left to try again", sent=False)
            started.started = time.monotonic()
            try:
                return await send(
                    self._client,
                    request.method,
                    request.url,
                    request.headers,
                    request.body,
                    timeout=left,
                    max_response_bytes=MAX_ANSWER_BYTES,
                )
            except SendError as exc:
                tries += 1
                if exc.kind != "connect" or exc.sent or tries > step.retries:
                    raise
                refused(started.started, tries)
            # a buyer restarting refuses for a moment: an instant retry would only be
            # refused again (the pause is cut short by the deadline above)
            await asyncio.sleep(min(_RETRY_PAUSE_S * tries, max(ends - time.monotonic(), 0)))

    def _learn(self, order_id: str, latency_ms: int) -> None:
        stats = self._latency.get(order_id)
        if stats is None:
            stats = self._latency[order_id] = LatencyWindow()
        stats.add(latency_ms)

    def _keep(self, task: asyncio.Task[BidResult]) -> None:
        """Hold a request running past its deadline until it ends (the loop keeps only a
        weak reference to a task); past the bound, cancel it instead."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        if len(self._background) > _MAX_BACKGROUND:
            task.cancel()

    # -- the delivery log -----------------------------------------------------------------

    def _record_skip(self, order: Order, step: CompiledStep, outcome: Outcome, reason: str) -> None:
        if self._log is None:
            return
        ping_id, lead_id = ATTEMPT_CONTEXT.get()
        try:
            self._log.record(
                Attempt(
                    id=str(uuid_utils.uuid7()),
                    kind="ping",
                    order_id=order.id,
                    buyer_id=order.buyer_id,
                    started_at=dt.datetime.now(dt.UTC),
                    duration_ms=0,
                    outcome=str(outcome),
                    ping_id=ping_id,
                    lead_id=lead_id,
                    method=step.method,
                    error=reason,
                )
            )
        except Exception:
            logger.exception("recording an unsent ping of order %s failed", order.id)


@dataclass(slots=True)
class _Tries:
    #: the ``time.monotonic()`` instant the current try of a ping left
    started: float


@dataclass(slots=True)
class _FanOut:
    #: the wait is over: a request ending now is late (counted as a timeout)
    closed: bool = False
