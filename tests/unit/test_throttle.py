"""The sign-in throttle's arithmetic (``domain.throttle``): back-off, its cap, the lock."""

from __future__ import annotations

import datetime as dt

import pytest

from pingtree.domain.throttle import Refusal, SignInOutcome, SignInPolicy, refusal

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
POLICY = SignInPolicy()


def at(*seconds: float) -> list[dt.datetime]:
    """Failures at these offsets from T0, newest first as the store gives them."""
    return sorted((T0 + dt.timedelta(seconds=s) for s in seconds), reverse=True)


def test_the_free_failures_cost_nothing() -> None:
    assert refusal(at(0, 0), [], T0, POLICY) is None
    assert refusal([], at(*[0] * 9), T0, POLICY) is None


@pytest.mark.parametrize(("failures", "wait"), [(3, 1), (4, 2), (5, 4), (9, 64)])
def test_each_failure_past_the_free_ones_doubles_the_wait(failures: int, wait: int) -> None:
    found = refusal(at(*[0] * failures), [], T0, SignInPolicy(lock_failures=50))
    assert found == Refusal(SignInOutcome.THROTTLED, T0 + dt.timedelta(seconds=wait))
    assert found.seconds_left(T0) == wait
    assert refusal(at(*[0] * failures), [], found.until, SignInPolicy(lock_failures=50)) is None


def test_the_wait_is_capped_and_never_overflows() -> None:
    policy = SignInPolicy(lock_failures=1000, backoff=dt.timedelta(hours=1))
    found = refusal(at(*[0] * 500), [], T0, policy)
    assert found is not None
    assert found.until == T0 + policy.backoff_max


def test_the_wait_runs_from_the_newest_failure_and_old_ones_age_out() -> None:
    found = refusal(at(0, 10, 20), [], T0 + dt.timedelta(seconds=20.5), POLICY)
    assert found is not None
    assert found.until == T0 + dt.timedelta(seconds=21)
    assert found.seconds_left(T0 + dt.timedelta(seconds=20.5)) == 1
    # one failure out of the 15-minute window: two left, free again
    later = T0 + dt.timedelta(minutes=15)
    assert refusal(at(0, 10, 20), [], later, POLICY) is None


def test_an_address_has_its_own_free_failures() -> None:
    found = refusal([], at(*[0] * 10), T0, POLICY)
    assert found == Refusal(SignInOutcome.THROTTLED, T0 + dt.timedelta(seconds=1))
    # of two waits, the longer
    both = refusal(at(0, 0, 0, 0, 0), at(*[0] * 10), T0, POLICY)
    assert both is not None
    assert both.until == T0 + dt.timedelta(seconds=4)


def test_ten_failures_within_the_window_lock_the_account_from_the_last() -> None:
    failures = at(*range(0, 600, 60))  # 10 failures over 9 minutes
    now = T0 + dt.timedelta(minutes=10)
    found = refusal(failures, [], now, POLICY)
    assert found == Refusal(SignInOutcome.LOCKED, T0 + dt.timedelta(seconds=540 + 900))
    assert found.seconds_left(now) == 840
    # still locked when the first failures have left the window
    assert refusal(failures, [], T0 + dt.timedelta(minutes=23), POLICY) == found
    assert refusal(failures, [], found.until, POLICY) is None


def test_ten_failures_spread_wider_than_the_window_do_not_lock() -> None:
    failures = at(*range(0, 1000, 110))  # 10 failures over 16.5 minutes
    found = refusal(failures, [], T0 + dt.timedelta(seconds=991), POLICY)
    # the 9 in the window back off (6 doublings past the 3 free), no lock
    assert found == Refusal(SignInOutcome.THROTTLED, T0 + dt.timedelta(seconds=990 + 64))


def test_the_store_need_not_look_further_than_the_policy_says() -> None:
    assert POLICY.lookback == dt.timedelta(minutes=30)
    assert POLICY.failures_needed >= POLICY.lock_failures
    with pytest.raises(ValueError, match="at least 1"):
        SignInPolicy(free_failures=0)
    with pytest.raises(ValueError, match="positive"):
        SignInPolicy(lock=dt.timedelta(0))


def test_only_checked_passwords_count_as_failures() -> None:
    counted = {outcome for outcome in SignInOutcome if outcome.failed}
    assert counted == {
        SignInOutcome.WRONG_PASSWORD,
        SignInOutcome.UNKNOWN_USER,
        SignInOutcome.DISABLED,
        SignInOutcome.CHECKING,
    }
