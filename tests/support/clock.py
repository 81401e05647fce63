"""A clock the test moves by hand (the clock port's fake)."""

from __future__ import annotations

import datetime as dt
import threading


class FrozenClock:
    def __init__(self, now: dt.datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, now: dt.datetime) -> None:
        with self._lock:
            self._now = now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += dt.timedelta(**delta)
