"""An order's recent ping latencies and their p90, by which the fan-out skips a buyer
that cannot answer in the time left (:mod:`pingtree.delivery.fanout`)."""

from __future__ import annotations

import bisect
import math
from collections import deque

__all__ = ["MIN_SAMPLES", "WINDOW", "LatencyWindow"]

#: latencies kept per order for its p90
WINDOW = 50
#: below this many samples the p90 is not trusted (a new buyer is always asked)
MIN_SAMPLES = 10


class LatencyWindow:
    """An order's last :data:`WINDOW` latencies, kept in arrival order and sorted (for
    the p90)."""

    __slots__ = ("_arrived", "_sorted", "skips")

    def __init__(self) -> None:
        self._arrived: deque[int] = deque()
        self._sorted: list[int] = []
        #: pings skipped for the p90 (the fan-out lets one in so many through)
        self.skips = 0

    def add(self, latency_ms: int) -> None:
        self._arrived.append(latency_ms)
        bisect.insort(self._sorted, latency_ms)
        if len(self._arrived) > WINDOW:
            oldest = self._arrived.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]

    def p90(self) -> int | None:
        if len(self._sorted) < MIN_SAMPLES:
            return None
        return self._sorted[math.ceil(0.9 * len(self._sorted)) - 1]
