"""Named instants of the sale where a server can be made to die (SIGKILL), to prove what a
crash there leaves behind (the crash harness, ``tests/crash``).

Off unless ``PINGTREE_FAILPOINTS`` names some, comma-separated, when the process starts; a
point named there kills the process the first time it is reached. An unarmed point costs
one set lookup.

``PINGTREE_FAILPOINTS_FILE`` names a file whose text names points the same way, read again
whenever the file is replaced: a running server is armed (or disarmed) by rewriting it,
without a new process (the crash harness arms the server that survived one case for the
next). Set, every point reached costs a ``stat`` of the file; no file arms nothing.

The points, in the order a sale passes them:

``sale.claimed``
    the post's transaction has claimed its ping (not committed)
``sale.lead``
    the lead row is written in that transaction (not committed)
``sale.recorded``
    its sales, cap commits and outbox rows are written (not committed)
``sale.committed``
    the transaction committed; nothing was dispatched or answered yet
``delivery.taken``
    an outbox row was taken (``sending``), before its post leaves
``delivery.answered``
    the buyer answered the post, before its verdict is recorded
``delivery.retry_queued``
    a post that reached nobody was queued again for a later try
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

__all__ = ["FILE_ENV", "POINTS", "failpoint", "parse_points"]

#: the environment variable naming the file of points armed now
FILE_ENV = "PINGTREE_FAILPOINTS_FILE"

POINTS = frozenset(
    {
        "sale.claimed",
        "sale.lead",
        "sale.recorded",
        "sale.committed",
        "delivery.taken",
        "delivery.answered",
        "delivery.retry_queued",
    }
)


def parse_points(text: str, source: str) -> frozenset[str]:
    """The points ``text`` names (comma- or line-separated); an unknown one is an error
    naming ``source``."""
    names = frozenset(name.strip() for name in text.replace("\n", ",").split(",") if name.strip())
    if names - POINTS:
        raise RuntimeError(f"{source} names unknown points: {sorted(names - POINTS)}")
    return names


_ARMED = parse_points(os.environ.get("PINGTREE_FAILPOINTS", ""), "PINGTREE_FAILPOINTS")
_FILE = os.environ.get(FILE_ENV) or None


class _ArmedByFile:
    """The points the file names, read again when the file changed (another inode, size
    or modification time: the harness replaces it whole)."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._seen: tuple[int, int, int] | None = None
        self._points: frozenset[str] = frozenset()

    def points(self) -> frozenset[str]:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._seen, self._points = None, frozenset()
            return self._points
        seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if seen != self._seen:
            self._points = parse_points(self._path.read_text(), str(self._path))
            self._seen = seen
        return self._points


_BY_FILE = _ArmedByFile(_FILE) if _FILE else None


def failpoint(name: str) -> None:
    """Die here, at once and uncleanly, if ``name`` is armed."""
    if name in _ARMED or (_BY_FILE is not None and name in _BY_FILE.points()):
        os.kill(os.getpid(), signal.SIGKILL)
