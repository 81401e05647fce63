"""Named instants of the sale where a server can be made to die (SIGKILL), to prove what a
crash there leaves behind (the crash harness, ``tests/crash``).

Off unless ``PINGTREE_FAILPOINTS`` names some, comma-separated, when the process starts; a
point named there kills the process the first time it is reached. An unarmed point costs
one set lookup.

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

__all__ = ["POINTS", "failpoint"]

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

_ARMED = frozenset(
    name.strip() for name in os.environ.get("PINGTREE_FAILPOINTS", "").split(",") if name.strip()
)
if _ARMED - POINTS:
    raise RuntimeError(f"PINGTREE_FAILPOINTS names unknown points: {sorted(_ARMED - POINTS)}")


def failpoint(name: str) -> None:
    """Die here, at once and uncleanly, if ``name`` is armed."""
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
