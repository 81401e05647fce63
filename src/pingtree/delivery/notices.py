"""Win and loss notices (OpenRTB's nurl and lurl): after a ping is answered, each live bid
order that bid is told whether it won, best effort.

An order's ``delivery.notices`` gives a ``win`` and a ``loss`` URL with the macros
``{ping_id}``, ``{price}`` and ``{reason}``, URL-encoded when filled; no other value can get
in, so a notice never carries PII. :class:`NoticeSender` sends them off the ping's path: at
most ``max_concurrent`` at once, each within its order's timeout, once (a failure is logged,
never retried), each exchange in the delivery log as kind ``notice``. Past ``max_waiting``
notices not yet sent, new ones are dropped with a warning: a buyer's slow endpoint never
holds memory or the pings.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import uuid_utils

from pingtree.delivery.attempts import Attempt, AttemptLog, since_ms, wall_clock
from pingtree.delivery.client import BuyerClient, send
from pingtree.delivery.connection import SendError

__all__ = ["MACROS", "Notice", "NoticeSender", "fill_notice_url", "notice_url_issue"]

log = logging.getLogger(__name__)

#: the only values a notice URL may carry
MACROS = frozenset({"ping_id", "price", "reason"})
_MACRO = re.compile(r"\{([^{}]*)\}")
#: a notice's answer is not read: a little of it is kept for the log
_MAX_ANSWER_BYTES = 4096


def notice_url_issue(url: str) -> str | None:
    """Why ``url`` cannot be a notice URL (not http(s) with a host, a macro other than the
    three, a brace left open), else ``None``."""
    for name in _MACRO.findall(url):
        if name not in MACROS:
            return (
                f"unknown macro {{{name}}}: a notice may carry {{ping_id}}, {{price}}, {{reason}}"
            )
    if "{" in _MACRO.sub("", url) or "}" in _MACRO.sub("", url):
        return "a brace without its macro"
    parts = urlsplit(_MACRO.sub("x", url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL with a host"
    if "{" in (urlsplit(url).hostname or ""):
        return "a macro in the host"
    return None


def fill_notice_url(url: str, ping_id: str, price: str, reason: str) -> str:
    """``url`` with its macros replaced by the URL-encoded values."""
    values = {"ping_id": ping_id, "price": price, "reason": reason}
    return _MACRO.sub(lambda m: quote(values[m.group(1)], safe=""), url)


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice to send: the order told, its ping, the filled URL and ``win``/``loss``."""

    order_id: str
    buyer_id: str
    ping_id: str
    url: str
    timeout_s: float
    won: bool


class NoticeSender:
    """Sends notices in tasks of its own, bounded; :meth:`stop` cancels those left."""

    def __init__(
        self,
        client: BuyerClient,
        attempts: AttemptLog,
        *,
        max_concurrent: int = 32,
        max_waiting: int = 1000,
    ) -> None:
        self._client = client
        self._attempts = attempts
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_waiting = max_waiting
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, notices: Sequence[Notice]) -> None:
        """Queue ``notices``; returns at once."""
        for notice in notices:
            if len(self._tasks) >= self._max_waiting:
                log.warning("notice to order %s dropped: too many waiting", notice.order_id)
                continue
            task = asyncio.get_running_loop().create_task(self._send(notice))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, notice: Notice) -> None:
        async with self._slots:
            started = time.monotonic()
            status: int | None = None
            error = ""
            outcome: str
            try:
                raw = await send(
                    self._client,
                    "GET",
                    notice.url,
                    (),
                    b"",
                    timeout=notice.timeout_s,
                    max_response_bytes=_MAX_ANSWER_BYTES,
                )
            except SendError as exc:
                outcome, error = exc.kind, str(exc)
                log.warning("%s notice to order %s failed: %s", _kind(notice), notice.order_id, exc)
            else:
                status = raw.status
                outcome = "accepted" if 200 <= raw.status < 300 else "rejected"
            self._attempts.record(
                Attempt(
                    id=str(uuid_utils.uuid7()),
                    kind="notice",
                    order_id=notice.order_id,
                    buyer_id=notice.buyer_id,
                    started_at=wall_clock(started),
                    duration_ms=since_ms(started),
                    outcome=outcome,
                    ping_id=notice.ping_id,
                    method="GET",
                    url=notice.url,
                    status=status,
                    parsed={"notice": _kind(notice)},
                    error=error,
                )
            )

    async def stop(self) -> None:
        """Cancel the notices not sent yet and wait for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _kind(notice: Notice) -> str:
    return "win" if notice.won else "loss"
