"""A replay run off the server's event loop (issue 17, ``flows.replay_worker``): in a
worker process of its own on the same database, giving the report the loop would, and
bounded in time and memory."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import os
import time
from typing import Any

import pytest
import yaml

from pingtree.config.errors import ConfigError
from pingtree.flows.replay_worker import (
    ReplayLimits,
    ReplayTooLarge,
    fewer_collections,
    what_if_apart,
)
from pingtree.flows.whatif import WhatIf, what_if
from pingtree.store.db import create_engine, session_factory
from tests.unit.test_replay_shortcuts import START, comparable, live_document, store_traffic

UNTIL = START + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> str:
    return store_traffic(tmp_path_factory.mktemp("worker"), caps=True)


#: every period replayed in the worker, however few its pings
ALWAYS = ReplayLimits(at_least=0)


def apart(url: str, draft: str, **options: Any) -> WhatIf:
    options.setdefault("limits", ALWAYS)

    async def run() -> WhatIf:
        engine = create_engine(url)
        try:
            return await what_if_apart(session_factory(engine), draft, START, UNTIL, **options)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def raised_floor() -> str:
    draft = live_document()
    rapid = next(o for b in draft["buyers"] for o in b["orders"] if o["id"] == "rapid_auto_live")
    rapid["pricing"]["floor"] = "25.00"
    return yaml.safe_dump(draft)


def test_the_worker_gives_the_report_the_loop_would(stored: str) -> None:
    async def here() -> WhatIf:
        engine = create_engine(stored)
        try:
            return await what_if(session_factory(engine), raised_floor(), START, UNTIL)
        finally:
            await engine.dispose()

    report = apart(stored, raised_floor(), focus=f"{3:08d}-bench")
    assert report.changed > 0
    assert comparable(report) == comparable(asyncio.run(here()))
    assert report.focused is not None


def test_a_bad_draft_is_named_before_any_worker(stored: str) -> None:
    draft = live_document()
    draft["buyers"][0]["orders"][0]["pricing"]["exclusive"] = "-3"
    with pytest.raises(ConfigError) as raised:
        apart(stored, yaml.safe_dump(draft), limits=ReplayLimits(seconds=0.01, at_least=0))
    assert any("buyers[0].orders[0]" in issue.path for issue in raised.value.issues)


def test_a_draft_that_does_not_compile_is_named_from_the_worker(stored: str) -> None:
    draft = live_document()
    draft["buyers"][0]["orders"][0]["vertical"] = "no_such_vertical"
    with pytest.raises(ConfigError) as raised:
        apart(stored, yaml.safe_dump(draft))
    assert any("buyers[0].orders[0]" in issue.path for issue in raised.value.issues)


def test_a_replay_past_its_time_is_ended(stored: str) -> None:
    with pytest.raises(ReplayTooLarge, match=r"took longer than 0\.01 s"):
        apart(stored, raised_floor(), limits=ReplayLimits(seconds=0.01, at_least=0))


def test_a_replay_past_its_memory_is_ended(stored: str) -> None:
    with pytest.raises(ReplayTooLarge, match="needed more than 48 MB"):
        apart(
            stored,
            raised_floor(),
            limits=ReplayLimits(seconds=120, memory_bytes=48 * 1024**2, at_least=0),
        )


class _EndsTheWorker(str):
    """A draft that reads here and ends the worker as it is handed over, the way a fatal
    error of the interpreter does (out of memory, in a greenlet's switch): no answer."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os._exit, (3,))


def test_a_worker_ended_with_no_answer_is_said_at_once(stored: str) -> None:
    began = time.monotonic()
    with pytest.raises(ReplayTooLarge, match=r"ended with no answer \(exit code 3\)"):
        apart(stored, _EndsTheWorker(raised_floor()), limits=ReplayLimits(seconds=60, at_least=0))
    assert time.monotonic() - began < 30  # not at the time bound


def test_a_period_of_few_pings_is_replayed_on_the_loop(stored: str) -> None:
    # 300 pings: under the bound no worker starts, so no time bound is met
    report = apart(stored, raised_floor(), limits=ReplayLimits(seconds=0.01))
    assert report.pings == 300


def test_a_replay_process_sweeps_less_and_puts_the_collector_back() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] >= 50_000
        assert gc.get_freeze_count() > 0  # what was alive is out of the sweeps
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
