"""Seller rate limits: what a campaign allows its keys, as data (DESIGN §8.6).

A campaign limits its seller calls twice: all its keys together (``campaign``) and each of
its keys on its own (``key``). Each limit is requests per second, requests per minute
and requests in flight at once (``concurrent``); each kind of call (ping, post, direct
post) is counted on its own, so a seller's posts never wait behind its pings. A window
limit counts the requests admitted in the current fixed window (second or minute of the
clock); a refused request counts for nothing. A request is admitted only when every one
of its limits has room, and then counts against all of them (all or nothing).

:func:`checks_for` turns a campaign's limits into the counters one request must pass;
:class:`Refusal` says which one refused and how long to wait. No I/O here: the counters
live in ``store.rate_limits``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = [
    "Check",
    "LimitKind",
    "RateLimits",
    "Refusal",
    "checks_for",
    "key_limits",
    "retry_after_seconds",
]

#: how long a request's place among the ``concurrent`` ones is kept when its process dies
#: before giving it back (its lease): longer than any seller call may take
CONCURRENCY_LEASE_MS = 120_000


class LimitKind(enum.StrEnum):
    PER_SECOND = "per_second"
    PER_MINUTE = "per_minute"
    CONCURRENT = "concurrent"

    @property
    def window_ms(self) -> int:
        """The fixed window a rate is counted in; 0 for ``concurrent`` (no window)."""
        return _WINDOW_MS[self]


_WINDOW_MS = {LimitKind.PER_SECOND: 1000, LimitKind.PER_MINUTE: 60_000, LimitKind.CONCURRENT: 0}


@dataclass(frozen=True, slots=True)
class RateLimits:
    """One scope's limits; ``None``: no limit of that kind."""

    per_second: int | None = None
    per_minute: int | None = None
    concurrent: int | None = None

    def limits(self) -> list[tuple[LimitKind, int]]:
        """The limits set, as (kind, how many)."""
        pairs = (
            (LimitKind.PER_SECOND, self.per_second),
            (LimitKind.PER_MINUTE, self.per_minute),
            (LimitKind.CONCURRENT, self.concurrent),
        )
        return [(kind, n) for kind, n in pairs if n is not None]


@dataclass(frozen=True, slots=True)
class Check:
    """One counter a request must find room in."""

    #: ``campaign`` or ``key``
    scope: str
    #: the campaign's id or the key's id
    owner: str
    #: ``ping``, ``post`` or ``direct_post``
    call: str
    kind: LimitKind
    limit: int

    def counter(self, now_ms: int) -> str:
        """The counter's name at ``now_ms``: a window limit's names the current window."""
        base = f"{self.scope}:{self.owner}:{self.call}:{self.kind.value}"
        if self.kind is LimitKind.CONCURRENT:
            return base
        return f"{base}:{now_ms // self.kind.window_ms}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """The limit that refused a request, and when to try again."""

    check: Check
    retry_after: int

    def describe(self) -> dict[str, object]:
        """The refusal for the seller's answer: which limit, of what, how many."""
        return {
            "scope": self.check.scope,
            "call": self.check.call,
            "kind": self.check.kind.value,
            "limit": self.check.limit,
            "retry_after": self.retry_after,
        }


def key_limits(
    key_id: str, per_key: RateLimits, own: tuple[tuple[str, RateLimits], ...]
) -> RateLimits:
    """The limits of key ``key_id``: its own when the campaign names it, else ``per_key``."""
    for owner, limits in own:
        if owner == key_id:
            return limits
    return per_key


def checks_for(
    campaign_id: str,
    key_id: str,
    call: str,
    campaign_limits: RateLimits,
    key_limits: RateLimits,
) -> tuple[Check, ...]:
    """The counters one ``call`` by key ``key_id`` of ``campaign_id`` must pass: empty
    when the campaign sets no limit."""
    return (
        *(Check("campaign", campaign_id, call, k, n) for k, n in campaign_limits.limits()),
        *(Check("key", key_id, call, k, n) for k, n in key_limits.limits()),
    )


def retry_after_seconds(check: Check, now_ms: int) -> int:
    """Whole seconds until ``check`` may have room: the end of its window (at least 1);
    1 for ``concurrent``, whose room comes back as soon as a request ends."""
    if check.kind is LimitKind.CONCURRENT:
        return 1
    window = check.kind.window_ms
    left = window - now_ms % window
    return max(1, math.ceil(left / 1000))
