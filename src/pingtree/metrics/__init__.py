"""Prometheus metrics: what is counted (:mod:`.definitions`), what is read at scrape time
(:mod:`.sampling`), and the text served at ``/metrics`` (:mod:`.exposition`)."""

from __future__ import annotations

from prometheus_client import disable_created_metrics, values

from pingtree.metrics.definitions import MeteredAttemptLog, Metrics
from pingtree.metrics.exposition import MULTIPROCESS_ENV, prepare_multiprocess_dir, render
from pingtree.metrics.sampling import (
    Sampler,
    Sources,
    Writer,
    time_pool_checkouts,
    watch_sqlite_line,
)

__all__ = [
    "MULTIPROCESS_ENV",
    "MeteredAttemptLog",
    "Metrics",
    "Sampler",
    "Sources",
    "Writer",
    "prepare_multiprocess_dir",
    "process_metrics",
    "render",
    "time_pool_checkouts",
    "watch_sqlite_line",
]


def process_metrics() -> Metrics:
    """This process's metrics, in the mode prometheus-client chose when it was imported
    (multiprocess when ``PROMETHEUS_MULTIPROC_DIR`` was set): asking the library, not the
    environment, keeps the two from disagreeing if the variable changed since.

    The ``*_created`` series are turned off (for the whole process: the library's switch is
    global): multiprocess mode has none, and one worker or several should read alike."""
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return Metrics(multiprocess=values.ValueClass is not values.MutexValue)
