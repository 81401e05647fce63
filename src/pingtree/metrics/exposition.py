"""The text Prometheus scrapes, from one process or from every worker of ``serve``.

Several workers (``serve --workers N``) share nothing in memory, so prometheus-client's
multiprocess mode keeps each worker's values in files under ``PROMETHEUS_MULTIPROC_DIR``
and whichever worker is scraped adds them all up. The library chooses the mode when it is
first imported, from that variable: ``serve`` sets it (:func:`prepare_multiprocess_dir`)
before uvicorn starts the workers, and only when there are several; one worker keeps a
plain in-memory registry.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from pingtree.metrics.definitions import Metrics

__all__ = [
    "MULTIPROCESS_ENV",
    "multiprocess_dir",
    "prepare_multiprocess_dir",
    "render",
]

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: a live gauge's file of one worker: its values vanish with the worker (``live*`` modes)
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db")


def multiprocess_dir() -> Path | None:
    """The shared directory when this process runs in multiprocess mode."""
    value = os.environ.get(MULTIPROCESS_ENV)
    return Path(value) if value else None


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """An empty directory for the workers of this ``serve``: ``DATA_DIR/metrics/<pid>``.

    Per serving process, so two servers on one data directory never share or wipe each
    other's files; a directory left by a server no longer running (or by this pid before a
    restart) is removed first, since stale files would add a dead server's counts in.
    """
    root = data_dir.resolve() / "metrics"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.is_dir() and old.name.isdigit():
            pid = int(old.name)
            if pid == os.getpid() or not _alive(pid):
                shutil.rmtree(old, ignore_errors=True)
    directory = root / str(os.getpid())
    directory.mkdir()
    return directory


async def render(metrics: Metrics, accept: str) -> tuple[bytes, str]:
    """The exposition of ``metrics`` and its content type, in the format the scraper's
    ``Accept`` header asks for (OpenMetrics or Prometheus text): this process's registry,
    or with several workers every worker's files added up. Built off the event loop: it
    walks every series, and reads files."""
    encode, content_type = choose_encoder(accept)
    if not metrics.multiprocess:
        return await asyncio.to_thread(encode, metrics.registry), content_type
    directory = multiprocess_dir()
    if directory is None:
        raise RuntimeError(f"multiprocess metrics without {MULTIPROCESS_ENV}")
    return await asyncio.to_thread(_collect_all, directory, encode), content_type


def _collect_all(directory: Path, encode: Callable[[Collector], bytes]) -> bytes:
    _forget_dead_workers(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(directory))  # type: ignore[no-untyped-call]
    return encode(registry)


def _forget_dead_workers(directory: Path) -> None:
    """Drop the live gauges of workers that died (uvicorn restarts a dead worker under a
    new pid, and nobody else tells prometheus-client): their backlogs are gone with them.
    Counters and histograms stay: what a dead worker counted still happened."""
    dead = {
        int(found.group(1))
        for name in os.listdir(directory)
        if (found := _LIVE_GAUGE_FILE.fullmatch(name)) and not _alive(int(found.group(1)))
    }
    for pid in dead:
        mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
