"""The sign-in throttle: whether a sign-in may be tried now, and if not, until when.

Failures count per **account** (the username as typed, whether or not such a user exists,
so a refusal never tells which names exist) and per **client address** (any username).
Past a few free failures each further one doubles the wait before the next try
(exponential back-off); many failures of one account within a window lock it for a while.
A success clears the account's failures (the store counts only those after its last
success); an address's failures only age out of the window, so signing in to one's own
account does not wash out a guessing run from the same address.

A refused try is not a failure: it never reached the password, so it neither extends a
wait nor counts towards a lock. The store passes failures newest first, each an aware
instant; ``now`` comes from the clock port.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Refusal", "SignInOutcome", "SignInPolicy", "refusal"]

#: past this many doublings the wait is capped anyway; keeps ``2 ** n`` finite
_MAX_DOUBLINGS = 40


class SignInOutcome(enum.StrEnum):
    """How one sign-in ended, as recorded."""

    SUCCESS = "success"
    WRONG_PASSWORD = "wrong_password"
    UNKNOWN_USER = "unknown_user"
    #: the right password of a disabled account: refused like a wrong one
    DISABLED = "disabled"
    #: refused without checking the password: the account or the address must wait
    THROTTLED = "throttled"
    #: refused without checking the password: the account is locked
    LOCKED = "locked"
    #: the password is being checked; a try that never finished (its process died) stays
    #: so and counts as a failure
    CHECKING = "checking"

    @property
    def failed(self) -> bool:
        """A failure the throttle counts: the password was checked (or is being checked)
        and did not sign anyone in."""
        return self in _COUNTED


_COUNTED = frozenset(
    {
        SignInOutcome.WRONG_PASSWORD,
        SignInOutcome.UNKNOWN_USER,
        SignInOutcome.DISABLED,
        SignInOutcome.CHECKING,
    }
)


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """The throttle's thresholds (``Settings.sign_in_*``)."""

    #: failures of one account allowed before it must wait
    free_failures: int = 3
    #: failures from one address (any usernames) allowed before it must wait
    address_free_failures: int = 10
    #: the first wait; doubled after each further failure
    backoff: dt.timedelta = dt.timedelta(seconds=1)
    #: the longest wait back-off imposes
    backoff_max: dt.timedelta = dt.timedelta(minutes=15)
    #: failures of one account within ``window`` that lock it
    lock_failures: int = 10
    #: how far back failures count
    window: dt.timedelta = dt.timedelta(minutes=15)
    #: how long a lock lasts, from the failure that set it
    lock: dt.timedelta = dt.timedelta(minutes=15)

    def __post_init__(self) -> None:
        if min(self.free_failures, self.address_free_failures, self.lock_failures) < 1:
            raise ValueError("sign-in failure thresholds must be at least 1")
        if min(self.backoff, self.backoff_max, self.window, self.lock) <= dt.timedelta(0):
            raise ValueError("sign-in waits and windows must be positive")

    @property
    def lookback(self) -> dt.timedelta:
        """How far back a failure can still matter: a lock set by failures spread over
        ``window`` lasts ``lock`` after the last of them."""
        return self.window + max(self.lock, self.backoff_max)

    @property
    def failures_needed(self) -> int:
        """The most failures of one key the verdict ever looks at."""
        most_free = max(self.free_failures, self.address_free_failures)
        return max(self.lock_failures, most_free + _MAX_DOUBLINGS)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A sign-in that may not be tried before ``until``."""

    outcome: SignInOutcome  # THROTTLED or LOCKED
    until: dt.datetime

    def seconds_left(self, now: dt.datetime) -> int:
        """Whole seconds until a try is allowed again (at least 1), for ``Retry-After``."""
        left = (self.until - now).total_seconds()
        return max(1, int(left) + (0 if left == int(left) else 1))


def refusal(
    account_failures: Sequence[dt.datetime],
    address_failures: Sequence[dt.datetime],
    now: dt.datetime,
    policy: SignInPolicy,
) -> Refusal | None:
    """Why a sign-in may not be tried at ``now``, or ``None`` if it may.

    ``account_failures``: the account's failures since its last success, newest first;
    ``address_failures``: the address's failures, newest first. Older ones than
    ``policy.lookback`` and more than ``policy.failures_needed`` may be left out. A lock
    wins over a back-off; of two back-offs, the longer one.
    """
    locked = _lock_until(account_failures, now, policy)
    if locked is not None:
        return Refusal(SignInOutcome.LOCKED, locked)
    waits = [
        until
        for until in (
            _backoff_until(account_failures, policy.free_failures, now, policy),
            _backoff_until(address_failures, policy.address_free_failures, now, policy),
        )
        if until is not None
    ]
    return Refusal(SignInOutcome.THROTTLED, max(waits)) if waits else None


def _lock_until(
    failures: Sequence[dt.datetime], now: dt.datetime, policy: SignInPolicy
) -> dt.datetime | None:
    newest = failures[: policy.lock_failures]
    if len(newest) < policy.lock_failures or newest[0] - newest[-1] > policy.window:
        return None
    until = newest[0] + policy.lock
    return until if until > now else None


def _backoff_until(
    failures: Sequence[dt.datetime], free: int, now: dt.datetime, policy: SignInPolicy
) -> dt.datetime | None:
    recent = [at for at in failures if at > now - policy.window]
    if len(recent) < free:
        return None
    doublings = min(len(recent) - free, _MAX_DOUBLINGS)
    # in float seconds: a long first wait doubled 40 times would overflow a timedelta
    doubled = policy.backoff.total_seconds() * 2.0**doublings
    until = recent[0] + dt.timedelta(seconds=min(doubled, policy.backoff_max.total_seconds()))
    return until if until > now else None
