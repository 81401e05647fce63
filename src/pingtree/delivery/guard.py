"""One order's protection on the ping path (DESIGN §8.6 "Protection"): a concurrency limit
and a rate limit (over either: ``throttled``), and a circuit breaker.

The breaker counts consecutive failed pings: errors (refused connections, resets, 5xx,
unreadable answers), which say the buyer is broken. A slow buyer is not broken, and a
timeout under our own load is not its fault: slowness is the p90 skip's business
(``fanout``). At
``breaker_failures`` it opens: the order is skipped (``circuit_open``) without a request
for ``breaker_cooldown_s``; then one ping goes out as a probe (half-open) while the others
are still skipped. An answer closes the breaker; another failure opens it again.

Pure bookkeeping: time comes in as ``time.monotonic()`` instants.
"""

from __future__ import annotations

from dataclasses import dataclass

from pingtree.delivery.compiled import CompiledLimits
from pingtree.domain.outcomes import Outcome

__all__ = ["Admission", "OrderGuard"]

#: outcomes of a request that count against the breaker (never a business outcome such as
#: ``above_max_bid`` or ``below_floor``: the buyer answered)
_FAILURES = frozenset({Outcome.ERROR})


@dataclass(frozen=True, slots=True)
class Admission:
    """A ping let through; hand it back to :meth:`OrderGuard.done` when it ends."""

    probe: bool


class OrderGuard:
    __slots__ = ("_failures", "_open_until", "_probing", "_refilled_at", "_tokens", "in_flight")

    def __init__(self) -> None:
        self.in_flight = 0
        self._tokens: float | None = None
        self._refilled_at = 0.0
        self._failures = 0
        self._open_until: float | None = None
        self._probing = False

    def admit(self, limits: CompiledLimits, now: float) -> Admission | tuple[Outcome, str]:
        """Let one ping through, or say why not (the outcome and reason for the trace)."""
        probe = False
        if self._open_until is not None:
            if now < self._open_until:
                return Outcome.CIRCUIT_OPEN, f"circuit open after {self._failures} failures"
            if self._probing:
                return Outcome.CIRCUIT_OPEN, "circuit half-open: a probe is out"
            probe = True
        if limits.max_concurrent is not None and self.in_flight >= limits.max_concurrent:
            return (
                Outcome.THROTTLED,
                f"{self.in_flight} pings in flight (max {limits.max_concurrent})",
            )
        if limits.per_second is not None and not self._take_token(limits.per_second, now):
            return Outcome.THROTTLED, f"over {limits.per_second:g} pings per second"
        self.in_flight += 1
        self._probing = self._probing or probe
        return Admission(probe)

    def done(
        self, admission: Admission, outcome: Outcome, limits: CompiledLimits, now: float
    ) -> None:
        self.in_flight -= 1
        if admission.probe:
            self._probing = False
        if outcome in _FAILURES:
            self._failures += 1
            if admission.probe or self._failures >= limits.breaker_failures:
                self._open_until = now + limits.breaker_cooldown_s
        else:
            self._failures = 0
            self._open_until = None

    def _take_token(self, per_second: float, now: float) -> bool:
        """A token bucket holding up to one second's worth of pings (at least one)."""
        capacity = max(per_second, 1.0)
        if self._tokens is None:
            self._tokens = capacity
        else:
            self._tokens = min(capacity, self._tokens + (now - self._refilled_at) * per_second)
        self._refilled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
