"""Replay and what-if (``flows.whatif``) as the admin API and the pages show it: the
staff only (admin, operator, analyst). A draft is YAML text; the period is a span back
from now (``7d``, ``24h``, ``90m``). A draft that does not compile is a 422 naming each
issue's path, as an apply's would be."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pingtree.config.errors import ConfigError
from pingtree.domain.fields import FieldError
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ports import Ports
from pingtree.flows.replay_worker import ReplayTooLarge, what_if_apart
from pingtree.flows.whatif import summary_lines
from pingtree.principals import Principal, require_staff

__all__ = ["MAX_SPAN", "parse_span", "replay_report"]

#: the longest period a replay covers
MAX_SPAN = dt.timedelta(days=31)
_SPAN = re.compile(r"([1-9][0-9]{0,4})([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_span(text: str, where: str = "since") -> dt.timedelta:
    """``7d``, ``24h`` or ``90m`` as a span; :class:`InputError` otherwise or past
    :data:`MAX_SPAN`."""
    found = _SPAN.fullmatch(text.strip())
    if found is None:
        raise InputError(
            [FieldError(("query", where), "a number and d, h or m, e.g. 7d", "value_error", text)]
        )
    span = dt.timedelta(**{_UNITS[found[2]]: int(found[1])})
    if span > MAX_SPAN:
        raise InputError(
            [FieldError(("query", where), "at most 31 days back", "value_error", text)]
        )
    return span


async def replay_report(
    ports: Ports,
    principal: Principal,
    draft: str,
    since: str = "7d",
    *,
    campaign_id: str | None = None,
    ping_id: str | None = None,
) -> dict[str, Any]:
    """The draft replayed on the live pings of the period (``flows.whatif.what_if``, in a
    worker process: ``flows.replay_worker``; past its bounds a 422 on ``since``): the
    report's JSON, with ``summary`` lines; with ``ping_id``, that ping's drill-down as
    ``ping`` (``NotFound`` when the period holds no such ping)."""
    require_staff(principal, "replays")
    span = parse_span(since)
    until = ports.clock.now()
    await ports.pings.drained()  # every ping answered so far counts
    try:
        # in a worker process, bounded: the server's loop keeps answering pings meanwhile
        report = await what_if_apart(
            ports.sessions, draft, until - span, until, campaign_id=campaign_id, focus=ping_id
        )
    except ConfigError as error:
        raise InputError(
            [FieldError(("body", issue.path), issue.msg, "config") for issue in error.issues]
        ) from None
    except ReplayTooLarge as error:
        raise InputError(
            [FieldError(("query", "since"), str(error), "value_error", since)]
        ) from None
    data = report.to_json()
    data["summary"] = list(summary_lines(report))
    if ping_id is not None:
        if report.focused is None:
            raise NotFound(f"no live ping {ping_id!r} in the period")
        data["ping"] = report.focused
    return data
