"""Signing in to the admin UI, throttled per account and per address, and signing out.

sign in: decide and record (one step per account and address: ``store.sign_ins``) →
refused? answer how long to wait, the password unchecked → check the password (argon2,
off the event loop, no transaction open) → settle the record → start a session.

The throttle's verdict (``domain.throttle``) depends on the username as typed, never on
whether such a user exists, and every refusal of a checked password is the same answer:
neither the answers nor their timing tell which names exist, beyond the throttle itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from pingtree.domain.throttle import Refusal, SignInOutcome, SignInPolicy, refusal
from pingtree.flows.ports import Ports
from pingtree.store.sign_ins import SignInRepository
from pingtree.store.tables import User
from pingtree.store.users import SESSION_LIFETIME, UserRepository, password_matches

__all__ = [
    "SESSION_SECONDS",
    "SignInResult",
    "forget_old_sign_ins",
    "sign_in",
    "sign_out",
]

log = logging.getLogger(__name__)

#: how long a session (and its cookie) lasts
SESSION_SECONDS = int(SESSION_LIFETIME.total_seconds())


@dataclass(frozen=True, slots=True)
class SignInResult:
    outcome: SignInOutcome
    #: the new session's cookie token, on success only (shown this once)
    token: str | None = None
    #: when throttled or locked: whole seconds before the next try may be made
    retry_after: int | None = None


async def sign_in(ports: Ports, username: str, password: str, address: str) -> SignInResult:
    """Sign ``username`` in from ``address`` unless the throttle says wait; every try is
    recorded with its outcome, never with the password."""
    now = ports.clock.now()
    async with ports.sessions.begin() as session:
        user, refused, sign_in_id = await _decide(
            SignInRepository(session),
            UserRepository(session),
            username,
            address,
            ports.sign_in,
            now,
        )
    if refused is not None:
        log.info("sign-in refused: %s", refused.outcome.value)
        return SignInResult(refused.outcome, retry_after=refused.seconds_left(now))
    outcome = _outcome(user, await password_matches(user, password))
    async with ports.sessions.begin() as session:
        await SignInRepository(session).settle(sign_in_id, outcome)
        token = None
        if user is not None and outcome is SignInOutcome.SUCCESS:
            token = await UserRepository(session).start_session(user, now)
    log.info("sign-in %s", outcome.value)
    return SignInResult(outcome, token=token)


async def sign_out(ports: Ports, token: str) -> None:
    """End the session the cookie ``token`` names (nothing if there is none)."""
    async with ports.sessions.begin() as session:
        await UserRepository(session).end_session(token)


async def forget_old_sign_ins(ports: Ports, keep_days: int) -> int:
    """Drop the record of tries older than ``keep_days`` (the throttle reads minutes of it;
    admins, weeks): refused tries are recorded too, so without this a flood of them would
    grow it for ever. How many went."""
    cutoff = ports.clock.now() - dt.timedelta(days=keep_days)
    async with ports.sessions.begin() as session:
        return await SignInRepository(session).forget_before(cutoff)


async def _decide(
    sign_ins: SignInRepository,
    users: UserRepository,
    username: str,
    address: str,
    policy: SignInPolicy,
    now: dt.datetime,
) -> tuple[User | None, Refusal | None, str]:
    """The user of that name, why the try is refused (or ``None``), and the try's record:
    ``checking`` when it goes on to the password, else the refusal."""
    await sign_ins.serialize(username, address)
    since, limit = now - policy.lookback, policy.failures_needed
    refused = refusal(
        await sign_ins.account_failures(username, since, limit),
        await sign_ins.address_failures(address, since, limit),
        now,
        policy,
    )
    user = await users.by_name(username)
    outcome = refused.outcome if refused is not None else SignInOutcome.CHECKING
    sign_in_id = await sign_ins.record(username, user.id if user else None, address, outcome, now)
    return user, refused, sign_in_id


def _outcome(user: User | None, matches: bool) -> SignInOutcome:
    if user is None:
        return SignInOutcome.UNKNOWN_USER
    if not matches:
        return SignInOutcome.WRONG_PASSWORD
    if user.disabled_at is not None:
        return SignInOutcome.DISABLED
    return SignInOutcome.SUCCESS
