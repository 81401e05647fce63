"""``/metrics``: what the seller API, buyers, the outbox, the writers and the pool report,
read back as a scraper reads it, from the real app and from ``serve --workers 2``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert
from sqlalchemy.pool import QueuePool

from pingtree.api.app import create_app
from pingtree.api.metrics import refusal
from pingtree.api.problems import Problem
from pingtree.metrics import Metrics, Sampler, Sources
from pingtree.mockbuyer import MockBuyer
from pingtree.settings import Settings
from pingtree.store.batch_writer import WriterBehind
from pingtree.store.db import create_engine, session_factory
from pingtree.store.ping_writer import PingWriter
from pingtree.store.set_aside import set_aside_row
from pingtree.store.tables import SetAside
from tests.api.conftest import SECRET, admin_token, database_down, market_settings
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers
from tests.support.clock import FrozenClock
from tests.support.databases import backend_kind
from tests.support.processes import cli, free_port, server_env, start_server
from tests.support.server import serve_app

_TAKES = {"check_token": False}
BUYERS: dict[str, dict[str, Any]] = {
    "taker": _TAKES,
    "hanger": {**_TAKES, "misbehaviour": {"kind": "hang", "on": "post"}},
    "live": {**_TAKES, "bid": {"kind": "fixed", "amount": "35.00"}, "latency": 60},
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


class Scrape:
    """One exposition, parsed: a sample's value by name and labels (0 when absent)."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)


def scrape(http: httpx.Client, headers: dict[str, str]) -> Scrape:
    response = http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def until(check: Callable[[], bool], seconds: float = 10) -> None:
    give_up = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.05)


def posting(mock: MockBuyer, name: str, price: str, **post: Any) -> dict[str, Any]:
    """A fixed-price order of buyer ``name`` whose leads are posted to its mock endpoint."""
    step = {
        "url": mock.post_url(name),
        "content_type": "json",
        "timeout_ms": 300,
        "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
        **post,
    }
    return buyer(name, order(f"{name}_fixed", price, delivery={"post": step}))


def live_bidding(mock: MockBuyer, name: str) -> dict[str, Any]:
    """A buyer whose order is pinged for a live bid, then posted, at mock endpoint ``name``."""
    accepted = {"accepted": {"json": "$.status", "equals": ["success"]}}
    delivery = {
        "ping": {
            "url": mock.ping_url(name),
            "content_type": "json",
            "timeout_ms": 2000,
            "body": {"fields": [{"from": "zip", "to": "zip"}]},
            "response": {**accepted, "bid": {"json": "$.price"}},
        },
        "post": {
            "url": mock.post_url(name),
            "content_type": "json",
            "timeout_ms": 2000,
            "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
            "response": accepted,
        },
    }
    return buyer(name, order(f"{name}_live", None, pricing={"type": "bid"}, delivery=delivery))


def test_pings_posts_and_direct_posts_are_counted_by_status_and_reason(
    market: Market, mock: MockBuyer
):
    taker = posting(mock, "taker", "30.00")
    taker["orders"][0]["filters"] = {"all": [{"field": "age", "op": "lt", "value": 90}]}
    market.apply(marketplace([taker]))
    pinged = market.ping()
    assert market.post(pinged["ping_id"])["status"] == "sold"
    assert market.post("0190-nope")["reasons"] == ["ping_unknown"]
    assert market.direct_post()["status"] == "sold"
    assert market.ping({**PING, "age": 95})["reasons"] == ["no_eligible_buyers"]
    # refusals: no key, a missing field, a wrong field type
    assert market.http.post("/api/v1/ping", json={"fields": PING}).status_code == 401
    missing = {"fields": {"zip": "33101"}}
    assert (
        market.http.post("/api/v1/ping", json=missing, headers=market.seller()).status_code == 422
    )
    bad = {"fields": {**PING, "age": "old"}}
    assert market.http.post("/api/v1/leads", json=bad, headers=market.seller()).status_code == 422

    seen = scrape(market.http, market.admin)
    answers = "pingtree_seller_answers_total"
    mine = {"campaign": "acme_auto"}
    assert seen(answers, endpoint="ping", status="accepted", **mine) == 1
    assert seen(answers, endpoint="ping", status="rejected", **mine) == 1
    assert seen(answers, endpoint="post", status="sold", **mine) == 1
    assert seen(answers, endpoint="post", status="rejected", **mine) == 1
    assert seen(answers, endpoint="direct_post", status="sold", **mine) == 1
    reasons = "pingtree_seller_reasons_total"
    assert seen(reasons, endpoint="post", reason="ping_unknown", **mine) == 1
    assert seen(reasons, endpoint="ping", reason="no_eligible_buyers", **mine) == 1
    refusals = "pingtree_seller_refusals_total"
    assert seen(refusals, endpoint="ping", status="401", kind="missing_api_key") == 1
    assert seen(refusals, endpoint="ping", status="422", kind="invalid_fields") == 1
    assert seen(refusals, endpoint="direct_post", status="422", kind="invalid_fields") == 1
    # two sales at 70 % of 30.00
    assert seen("pingtree_sales_total", **mine) == 2
    assert seen("pingtree_sales_payout_total", **mine) == pytest.approx(42.0)
    latency = "pingtree_seller_request_seconds_count"
    assert [seen(latency, endpoint=e) for e in ("ping", "post", "direct_post")] == [4, 2, 2]
    # the posts reached the buyer once each, accepted
    exchanges = "pingtree_buyer_exchanges_total"
    assert seen(exchanges, buyer="taker", kind="post", outcome="accepted") == 2


def test_buyer_exchanges_show_in_the_latency_histogram(market: Market, mock: MockBuyer):
    market.apply(marketplace([live_bidding(mock, "live")]))
    assert market.sell()["status"] == "sold"
    assert market.direct_post()["status"] == "sold"

    seen = scrape(market.http, market.admin)
    exchanges = "pingtree_buyer_exchanges_total"
    assert seen(exchanges, buyer="live", kind="ping", outcome="bid") == 2
    assert seen(exchanges, buyer="live", kind="post", outcome="accepted") == 2
    histogram = "pingtree_buyer_latency_seconds"
    for kind in ("ping", "post"):
        # the mock answers after 60 ms: nothing under 50 ms, everything within a second
        assert seen(f"{histogram}_count", buyer="live", kind=kind) == 2
        assert seen(f"{histogram}_bucket", buyer="live", kind=kind, le="0.05") == 0
        assert seen(f"{histogram}_bucket", buyer="live", kind=kind, le="1.0") == 2
        assert 0.12 <= seen(f"{histogram}_sum", buyer="live", kind=kind) < 2


def test_the_outbox_depth_and_the_age_of_its_oldest_row(market: Market, mock: MockBuyer):
    hanger = posting(mock, "hanger", "30.00", timeout_ms=3000)
    market.apply(marketplace([hanger], [campaign(wait_for_delivery=False)]))
    assert market.direct_post()["status"] == "accepted"
    market.clock.advance(seconds=7)

    def open_rows(seen: Scrape) -> float:
        return sum(seen("pingtree_outbox_rows", status=s) for s in ("queued", "sending"))

    seen = scrape(market.http, market.admin)
    assert open_rows(seen) == 1
    assert seen("pingtree_outbox_oldest_age_seconds") == 7
    assert seen("pingtree_outbox_rows", status="unknown") == 0
    # the buyer never answers: after the timeout the row waits for an operator
    until(lambda: scrape(market.http, market.admin)("pingtree_outbox_rows", status="unknown") == 1)
    seen = scrape(market.http, market.admin)
    assert open_rows(seen) == 0
    assert seen("pingtree_outbox_oldest_age_seconds") == 0


def test_writers_and_the_database_pool_are_reported(market: Market, mock: MockBuyer):
    market.apply(marketplace([posting(mock, "taker", "30.00")]))
    for _ in range(3):
        assert market.sell()["status"] == "sold"
    seen = scrape(market.http, market.admin)
    # a scrape itself checks a connection out for the outbox query, and returns it
    assert seen("pingtree_db_pool_wait_seconds_count") >= 6
    assert seen("pingtree_db_pool_wait_seconds_sum") < seen("pingtree_db_pool_wait_seconds_count")
    assert seen("pingtree_db_pool_timeouts_total") == 0
    size = seen("pingtree_db_pool_connections", state="size")
    assert size >= 1
    assert 0 <= seen("pingtree_db_pool_connections", state="checked_out") <= size
    # on SQLite every sale's transactions (its own, its verdict's) wait in line for the one
    # connection, and each commit of the line is a group's
    waits = seen("pingtree_sqlite_line_wait_seconds_count")
    groups = seen("pingtree_sqlite_group_transactions_count")
    if backend_kind() == "sqlite":
        assert waits >= 6
        assert groups >= 6
        assert seen("pingtree_sqlite_line_wait_seconds_sum") < waits
        assert seen("pingtree_sqlite_group_transactions_bucket", le="32.0") == groups
    else:
        assert (waits, groups) == (0, 0)
    assert seen("pingtree_writer_set_aside_total", writer="ping-writer") == 0
    assert seen("pingtree_set_aside_rows", writer="attempt-log") == 0
    # the pings are written a moment after their answers
    until(lambda: scrape(market.http, market.admin)("pingtree_writer_backlog") == 0)
    # rows set aside are read from the database, whoever set them aside and when
    asyncio.run(_set_aside(market.settings, "attempt-log", 2))
    assert scrape(market.http, market.admin)("pingtree_set_aside_rows", writer="attempt-log") == 2
    # one process: its own CPU and memory too
    assert seen("process_cpu_seconds_total") > 0


def test_a_writer_falling_behind_shows_before_and_while_work_is_turned_away(
    behind: tuple[Market, PingWriter],
):
    # the pings' writer is behind from one queued ping, and its database is down
    market, writer = behind
    market.apply(marketplace([]))
    with database_down(writer):
        assert market.ping()["status"] == "rejected"  # answered, its row queued
        refused = market.http.post("/api/v1/ping", json={"fields": PING}, headers=market.seller())
        assert refused.status_code == 503
        seen = scrape(market.http, market.admin)
        assert seen("pingtree_writer_backlog", writer="ping-writer") == 1
        refusals = "pingtree_seller_refusals_total"
        assert seen(refusals, endpoint="ping", status="503", kind="writer_behind") == 1
    # back: the queued ping is written, and the backlog shows it
    until(lambda: scrape(market.http, market.admin)("pingtree_writer_backlog") == 0)


def test_503_refusals_are_told_apart_by_cause():
    assert refusal(WriterBehind("ping-writer", "behind")) == (503, "writer_behind")
    assert refusal(sa_exc.TimeoutError("QueuePool limit reached")) == (503, "database_busy")
    assert refusal(Problem(413, "too large")) == (413, "too_large")
    assert refusal(Problem(401, "no key", "missing_api_key")) == (401, "missing_api_key")
    assert refusal(RuntimeError("a defect")) == (500, "error")


class _Writer:
    """A background writer's state, set by hand."""

    def __init__(self) -> None:
        self.backlog = 0
        self.set_aside_count = 0
        self.lost_count = 0


def test_writer_backlogs_and_set_aside_rows_follow_the_writers(tmp_path: Path, clock: FrozenClock):
    pings, attempts = _Writer(), _Writer()
    metrics = Metrics(multiprocess=False)

    async def sample() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        writers = {"ping-writer": pings, "attempt-log": attempts}
        sampler = Sampler(metrics, Sources(session_factory(engine), clock.now, engine, writers))
        try:
            sampler.sample_process()
            pings.backlog, pings.set_aside_count, attempts.lost_count = 7, 2, 1
            sampler.sample_process()
            pings.set_aside_count = 5
            sampler.sample_process()
        finally:
            await engine.dispose()

    asyncio.run(sample())
    seen = Scrape(generate_latest(metrics.registry).decode())
    assert seen("pingtree_writer_backlog", writer="ping-writer") == 7
    assert seen("pingtree_writer_backlog", writer="attempt-log") == 0
    # counted as the writers' own counts grew: 2, then 3 more
    assert seen("pingtree_writer_set_aside_total", writer="ping-writer") == 5
    assert seen("pingtree_writer_set_aside_total", writer="attempt-log") == 0
    assert seen("pingtree_writer_lost_total", writer="attempt-log") == 1


METRICS_TOKEN = "scraper-" + "t" * 24


def test_only_the_metrics_token_or_an_admin_token_may_scrape(tmp_path: Path, clock: FrozenClock):
    settings = market_settings(tmp_path).model_copy(update={"metrics_token": METRICS_TOKEN})
    token = admin_token(settings)
    with (
        serve_app(create_app(settings, clock=clock)) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        market = Market(http, token, clock, settings)
        market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))

        def status(headers: dict[str, str]) -> int:
            return http.get("/metrics", headers=headers).status_code

        assert status({}) == 401  # loopback is no exception
        assert status({"Authorization": "Bearer " + METRICS_TOKEN[:-1] + "x"}) == 401
        assert status({"Authorization": "Bearer pt_nope_nope"}) == 401
        assert status(market.seller()) == 403  # a campaign key
        assert status({"Authorization": "Bearer " + METRICS_TOKEN}) == 200
        assert status({"X-Api-Key": METRICS_TOKEN}) == 200
        assert status(market.admin) == 200
        # the OpenMetrics format when the scraper asks for it, as Prometheus does
        open_metrics = http.get(
            "/metrics",
            headers={**market.admin, "Accept": "application/openmetrics-text; version=1.0.0"},
        )
        assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
        assert open_metrics.text.endswith("# EOF\n")


def test_serve_with_two_workers_answers_for_both(tmp_path: Path, mock: MockBuyer):
    settings = market_settings(tmp_path)
    env = server_env(
        settings,
        SECRET,
        PINGTREE_WORKERS="2",
        PINGTREE_METRICS_TOKEN=METRICS_TOKEN,
        PINGTREE_OUTBOUND_ALLOW='["127.0.0.1"]',
    )
    config = tmp_path / "market.yaml"
    config.write_text(yaml.safe_dump(marketplace([posting(mock, "taker", "30.00")])))
    cli(env, "apply", str(config))
    seller = {"Authorization": f"Bearer {cli(env, 'key', 'create', 'acme_auto')}"}
    scraper = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    port = free_port()
    server = start_server(env, port, tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        workers = _worker_pids(server.pid, 2)
        sold = 0
        # a new connection per lead: the kernel spreads them over both workers
        while sold < 40 or len(_files_of(tmp_path, "counter")) < 2:
            pinged = httpx.post(f"{url}/api/v1/ping", json={"fields": PING}, headers=seller)
            body = {"ping_id": pinged.json()["ping_id"], "fields": {**PING, **CONTACT}}
            answer = httpx.post(f"{url}/api/v1/post", json=body, headers=seller).json()
            assert answer["status"] == "sold", answer
            sold += 1
            assert sold < 400, "one worker took every connection"
        assert {int(p.stem.rsplit("_", 1)[1]) for p in _files_of(tmp_path, "counter")} == workers
        # whichever worker answers, the figures are both workers' together
        for _ in range(6):
            with httpx.Client() as fresh:
                response = fresh.get(f"{url}/metrics", headers=scraper)
            seen = Scrape(response.text)
            mine = {"campaign": "acme_auto"}
            assert seen("pingtree_sales_total", **mine) == sold
            assert (
                seen("pingtree_seller_answers_total", endpoint="ping", status="accepted", **mine)
                == sold
            )
            exchanges = "pingtree_buyer_exchanges_total"
            assert seen(exchanges, buyer="taker", kind="post", outcome="accepted") == sold
            assert seen("pingtree_buyer_latency_seconds_count", buyer="taker", kind="post") == sold
        # each worker writes its own gauges every 2 s: both pools, summed
        until(lambda: _pool_size(url, scraper) == 2 * _pool_size_of_one(settings, 2), seconds=10)
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _set_aside(settings: Settings, writer: str, count: int) -> None:
    engine = create_engine(settings.resolved_database_url())
    try:
        async with session_factory(engine).begin() as session:
            for n in range(count):
                row = set_aside_row(writer, f"row-{n}", {"id": n}, ValueError("refused"))
                await session.execute(insert(SetAside), [row])
    finally:
        await engine.dispose()


def _worker_pids(serve_pid: int, count: int) -> set[int]:
    """The pids of ``serve``'s uvicorn workers (its children started by multiprocessing's
    spawn), once there are ``count``."""
    give_up = time.monotonic() + 30
    while True:
        children = Path(f"/proc/{serve_pid}/task/{serve_pid}/children").read_text().split()
        workers = {
            int(pid)
            for pid in children
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        }
        if len(workers) == count:
            return workers
        assert time.monotonic() < give_up, f"workers: {workers}"
        time.sleep(0.1)


def _files_of(data_dir: Path, kind: str) -> list[Path]:
    """The multiprocess files of ``kind`` (counter, histogram, gauge_livesum…) of the
    workers of the one ``serve`` on ``data_dir``."""
    return list((data_dir / "metrics").glob(f"*/{kind}_*.db"))


def _pool_size(url: str, headers: dict[str, str]) -> float:
    scraped = Scrape(httpx.get(f"{url}/metrics", headers=headers).text)
    return scraped("pingtree_db_pool_connections", state="size")


def _pool_size_of_one(settings: Settings, workers: int) -> int:
    """One worker's pool size, as a server of ``workers`` workers builds it."""
    pool_size, max_overflow = settings.model_copy(update={"workers": workers}).pool_sizes()

    async def size() -> int:
        engine = create_engine(
            settings.resolved_database_url(), pool_size=pool_size, max_overflow=max_overflow
        )
        try:
            pool = engine.pool
            assert isinstance(pool, QueuePool)
            return pool.size()
        finally:
            await engine.dispose()

    return asyncio.run(size())
