"""The posting instructions' texts on a campaign's seller protection: its rate limits,
its duplicate-ping cache and the hashed phone and email a ping may carry (short texts,
Markdown inline, as the other texts of ``api.instructions_model``)."""

from __future__ import annotations

from pingtree.domain.campaigns import Campaign, RepeatAnswer
from pingtree.domain.rate_limits import LimitKind, RateLimits

__all__ = ["dedup_lines", "limit_lines"]

_UNITS = {
    LimitKind.PER_SECOND: "a second",
    LimitKind.PER_MINUTE: "a minute",
    LimitKind.CONCURRENT: "at once",
}


def limit_lines(campaign: Campaign) -> list[str]:
    """The campaign's rate limits, and how a refusal reads; none when it sets none."""
    lines = []
    for whom, limits in (
        ("all this campaign's keys together", campaign.rate_limits),
        ("each key", campaign.key_rate_limits),
    ):
        if limits.limits():
            lines.append(f"Rate limits of {whom}: {_limits(limits)}.")
    for key_id, limits in campaign.own_key_rate_limits:
        lines.append(f"The key `pt_{key_id}_…` has limits of its own: {_limits(limits) or 'none'}.")
    if lines:
        lines.append(
            "Pings, posts and direct posts are counted apart. A call over a limit is"
            " answered `429` with `Retry-After` (whole seconds) and"
            ' `{"detail": {"type": "rate_limited", "limit": {…}}}` naming the limit;'
            " it did nothing and counts for nothing: send it again after the wait."
        )
    return lines


def _limits(limits: RateLimits) -> str:
    return ", ".join(f"{n} {_UNITS[kind]}" for kind, n in limits.limits())


def dedup_lines(campaign: Campaign) -> list[str]:
    """The duplicate-ping cache and the hashed identifiers; none without pings."""
    if "ping_post" not in campaign.modes:
        return []
    lines = []
    dedup = campaign.ping_dedup
    if dedup is not None:
        names = ", ".join(f"`{n}`" for n in dedup.fields) or "every non-personal field"
        repeat = (
            "gets the first ping's answer again (the same `ping_id` and `bid`)"
            if dedup.on_repeat is RepeatAnswer.FIRST_ANSWER
            else "is answered `rejected` with `duplicate`"
        )
        lines.append(
            f"A ping of the same consumer within {dedup.window_seconds} s (the same {names}"
            f" and hashes, tracking fields aside) {repeat}."
        )
    lines.append(
        "A ping may carry `phone_hash` and `email_hash` among its fields: the lower-case"
        " hex SHA-256 of the UTF-8 value as pingtree normalizes it (a phone: its 10 digits,"
        " `3055550142`; an email: trimmed and lower-cased, `ana@example.com`), for example"
        " `printf %s 3055550142 | sha256sum`. They are never stored; they let the ping meet"
        " the duplicate checks a post meets: buyers that bought this consumer recently are"
        " left out"
        + (
            f", and a consumer any seller sent within {campaign.inbound_dedup_days} days is"
            " `duplicate`."
            if campaign.inbound_dedup_days > 0
            else "."
        )
    )
    return lines
