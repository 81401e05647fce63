"""The sale benchmark: pingtree's ping → post → delivery against a bare ping/post proxy.

    .venv/bin/python bench/sale.py [--sellers 4 16 32] [--seconds 10] [--engine sqlite]
        [--workers 1] [--code DIR …] [--buyers 10] [--latency-ms 50] [--count-sql]

Starts, each in its own process on 127.0.0.1: the mock buyer (``pingtree mockbuyer``:
``--buyers`` endpoints answering a ping with a bid and a post with an accept, each after
``--latency-ms``), the bare ping/post proxy (``bench/bare_pingpost.py``: pings every buyer
at once, keeps the best bid in memory, posts the lead to it; nothing else) and pingtree
(``pingtree serve``: one ``bid`` order per buyer whose delivery pings then posts to the mock
buyer, an exclusive campaign with ``wait_for_delivery``, so a post answers ``sold`` only
once the buyer accepted it).

The load: S sellers in flight, each looping ping → post (at once, with the ping id) →
ping… For each target and S, after a warm-up: sold leads/s, ping p50/p99, post p50/p90/p99,
the errors (HTTP answers other than 200, and answers other than ``accepted``/``sold``, by
kind) and the CPU per sale (the target's process tree's user + system time over the run,
divided by the leads sold). After each pingtree's runs, its delivery log (table
``attempts``) is counted against what was sent: pings × buyers ping attempts, one post
attempt per lead sold.

``--engine sqlite`` runs pingtree on embedded SQLite in a temporary directory;
``--engine postgres`` on ``postgresql+asyncpg://postgres@127.0.0.1:5432/bench`` with Redis
db 9 (schema ``public`` dropped and Redis db 9 flushed before each pingtree starts: nothing
else may use them; ``PINGTREE_BENCH_POSTGRES_URL`` and ``PINGTREE_BENCH_REDIS_URL`` name
others); ``--engine both`` runs one, then the other. ``--code DIR`` runs
pingtree from another checkout's ``src`` (``git worktree add /tmp/pt-before <commit>``):
several ``--code`` compare them in one run, each after the other against the same buyers.
``--count-sql`` also counts pingtree's transactions and statements per sale by the code
that opened them, with SQLite's wait for its write lock (``bench/sqlcount``; it costs the
server CPU, so such a run's timings are not figures). Prints Markdown for bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.core import percentile  # noqa: E402
from bench.fanout import cpu_seconds, free_port, wait_http  # noqa: E402

PING = {"zip": "33101", "state": "FL", "age": 34}
POSTGRES_URL = os.environ.get(
    "PINGTREE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
)
REDIS_URL = os.environ.get("PINGTREE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
BARE = "bare ping/post"


# -- configuration --------------------------------------------------------------------------


def marketplace(buyer_urls: list[str]) -> dict[str, Any]:
    """One live-bid order per buyer, pinged with the ping's fields and posted the whole
    lead with the buyer's token; one exclusive campaign that waits for the delivery."""
    buyers = [
        {
            "id": f"buyer{i}",
            "orders": [
                {
                    "id": f"live{i}",
                    "vertical": "auto",
                    "pricing": {"type": "bid"},
                    "delivery": {
                        "ping": {
                            "url": f"{url}/ping",
                            "content_type": "json",
                            "timeout_ms": 900,
                            "body": {"fields": [{"from": k, "to": k} for k in PING]},
                            "response": {
                                "accepted": {"json": "$.status", "equals": ["success"]},
                                "bid": {"json": "$.price"},
                                "token": {"json": "$.ping_id"},
                            },
                        },
                        "post": {
                            "url": f"{url}/post",
                            "content_type": "json",
                            "timeout_ms": 2000,
                            "body": {
                                "fields": [
                                    {"from": "token", "to": "ping_id"},
                                    *({"from": k, "to": k} for k in [*PING, "phone"]),
                                ]
                            },
                            "response": {
                                "accepted": {"json": "$.status", "equals": ["success"]},
                                "redirect_url": {"json": "$.redirect_url"},
                                "reason": {"json": "$.reason"},
                            },
                        },
                    },
                }
            ],
        }
        for i, url in enumerate(buyer_urls)
    ]
    return {
        "verticals": [
            {
                "id": "auto",
                "fields": [
                    {"name": "zip", "type": "zip", "ping": "required", "post": "required"},
                    {"name": "state", "type": "state", "ping": "required", "post": "required"},
                    {"name": "age", "type": "integer"},
                    {"name": "phone", "type": "phone", "pii": True, "post": "required"},
                ],
            }
        ],
        "suppliers": [
            {
                "id": "seller",
                "campaigns": [
                    {
                        "id": "seller-auto",
                        "vertical": "auto",
                        "modes": ["ping_post"],
                        "payout": {"model": "revenue_share", "percent": 70},
                        "ping_deadline_ms": 1000,
                        "max_sells": 1,
                        "wait_for_delivery": True,
                    }
                ],
            }
        ],
        "buyers": buyers,
    }


# -- load -----------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    ping_url: str
    post_url: str
    headers: dict[str, str]
    pid: int


@dataclass
class Tally:
    """What one load run saw."""

    elapsed: float = 0.0
    #: pings answered ``accepted`` (each asked every buyer)
    pinged: int = 0
    sold: int = 0
    ping_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    #: answers other than HTTP 200 (and exceptions), by kind
    not_200: collections.Counter[str] = field(default_factory=collections.Counter)
    #: HTTP 200 answers other than ``accepted`` (ping) or ``sold`` (post), by kind
    not_sold: collections.Counter[str] = field(default_factory=collections.Counter)
    cpu_ms: float = 0.0

    @property
    def sold_per_s(self) -> float:
        return self.sold / self.elapsed if self.elapsed else 0.0


_phones = itertools.count()


def phone() -> str:
    """A new valid US number per lead (305-500-0000 on)."""
    return f"305{5_000_000 + next(_phones) % 5_000_000:07d}"


async def load(target: Target, sellers: int, seconds: float) -> Tally:
    tally = Tally()
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def call(step: str, url: str, body: dict[str, Any]) -> dict[str, Any] | None:
            """The answer, or ``None`` (counted) when it is not an HTTP 200."""
            try:
                async with client.post(url, json=body, headers=target.headers) as response:
                    if response.status != 200:
                        tally.not_200[f"{step} HTTP {response.status}"] += 1
                        await response.read()
                        return None
                    answer: dict[str, Any] = await response.json()
                    return answer
            except (aiohttp.ClientError, TimeoutError) as exc:
                tally.not_200[f"{step} {type(exc).__name__}"] += 1
                await asyncio.sleep(0.05)  # a server gone away must not spin the loop
                return None

        async def seller() -> None:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                pinged = await call("ping", target.ping_url, {"fields": PING})
                if pinged is None:
                    continue
                tally.ping_ms.append((time.perf_counter() - started) * 1000)
                if pinged.get("status") != "accepted":
                    tally.not_sold[f"ping {_kind(pinged)}"] += 1
                    continue
                tally.pinged += 1
                lead = {"ping_id": pinged["ping_id"], "fields": {**PING, "phone": phone()}}
                started = time.perf_counter()
                posted = await call("post", target.post_url, lead)
                if posted is None:
                    continue
                tally.post_ms.append((time.perf_counter() - started) * 1000)
                if posted.get("status") == "sold":
                    tally.sold += 1
                else:
                    tally.not_sold[f"post {_kind(posted)}"] += 1

        began = time.monotonic()
        await asyncio.gather(*(seller() for _ in range(sellers)))
        tally.elapsed = time.monotonic() - began
    return tally


def _kind(answer: dict[str, Any]) -> str:
    reasons = answer.get("reasons") or []
    return f"{answer.get('status')}" + (f" ({', '.join(map(str, reasons))})" if reasons else "")


def measure(
    target: Target,
    sellers: int,
    seconds: float,
    warmup: float,
    before: Callable[[], None] = lambda: None,
) -> tuple[Tally, Tally]:
    """A warm-up run, then (after ``before``) the measured one with its CPU per sale."""
    warm = asyncio.run(load(target, sellers, warmup))
    before()
    cpu = cpu_seconds(target.pid)
    tally = asyncio.run(load(target, sellers, seconds))
    tally.cpu_ms = (cpu_seconds(target.pid) - cpu) * 1000 / max(tally.sold, 1)
    return warm, tally


# -- processes ------------------------------------------------------------------------------


@contextmanager
def running(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``args`` started and listening on ``port``; its stderr shown if it fails."""
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_http(f"http://127.0.0.1:{port}", process)
            yield process
        except BaseException:
            err.seek(0)
            sys.stderr.write(err.read().decode(errors="replace")[-4000:])
            raise
        finally:
            process.terminate()
            process.wait(timeout=60)


def code_label(code: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(code), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    label = git("rev-parse", "--short", "HEAD") or code.name
    return label + ("+changes" if git("status", "--porcelain", "--", "src") else "")


async def _sql(url: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run ``statements`` in one transaction; the last one's rows."""
    engine = create_async_engine(url)
    rows: list[tuple[Any, ...]] = []
    try:
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
                rows = [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()
    return rows


def reset_postgres() -> None:
    """Empty the bench database (schema ``public``) and its Redis db; pingtree migrates."""
    asyncio.run(_sql(POSTGRES_URL, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public"))
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def stored_attempts(url: str) -> dict[str, int]:
    rows = asyncio.run(_sql(url, "SELECT kind, count(*) FROM attempts GROUP BY kind"))
    return {str(kind): int(count) for kind, count in rows}


@dataclass
class LogCheck:
    label: str
    pinged: int
    sold: int
    buyers: int
    stored: dict[str, int]

    def line(self) -> str:
        want_pings, want_posts = self.pinged * self.buyers, self.sold
        got_pings, got_posts = self.stored.get("ping", 0), self.stored.get("post", 0)
        missing = max(want_pings - got_pings, 0) + max(want_posts - got_posts, 0)
        others = {k: v for k, v in self.stored.items() if k not in ("ping", "post")}
        return (
            f"- {self.label}: {self.pinged} pings × {self.buyers} buyers = {want_pings} ping "
            f"attempts expected, {got_pings} stored; {want_posts} leads sold, {got_posts} post "
            f"attempts stored{f', other kinds {others}' if others else ''}: "
            f"**{missing} missing** ({missing / max(want_pings + want_posts, 1):.2%})"
        )


def run_pingtree(
    code: Path,
    engine: str,
    args: argparse.Namespace,
    base_env: dict[str, str],
    buyer_urls: list[str],
    results: dict[tuple[str, str, str, int], Tally],
    checks: list[LogCheck],
    counts: dict[tuple[str, str, str, int], SqlCounts],
) -> None:
    label = code_label(code)
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = {
            **base_env,
            "PYTHONPATH": str(code / "src"),
            "PINGTREE_DATA_DIR": str(data),
        }
        if engine == "postgres":
            reset_postgres()
            env["PINGTREE_DATABASE_URL"] = POSTGRES_URL
            env["PINGTREE_REDIS_URL"] = REDIS_URL
            url = POSTGRES_URL
        else:
            url = f"sqlite+aiosqlite:///{data / 'pingtree.db'}"

        def cli(*words: str) -> str:
            done = subprocess.run(
                [python, "-m", "pingtree", *words], env=env, capture_output=True, text=True
            )
            if done.returncode:
                raise RuntimeError(f"pingtree {' '.join(words)} ({code}):\n{done.stderr[-4000:]}")
            return done.stdout.strip()

        cli("migrate")
        (data / "market.yaml").write_text(yaml.safe_dump(marketplace(buyer_urls)))
        cli("apply", str(data / "market.yaml"))
        key = cli("key", "create", "seller-auto").splitlines()[-1].strip()
        port = free_port()
        serve = [python, "-m", "pingtree", "serve", "--port", str(port)]
        if args.count_sql:
            env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench/sqlcount"), env["PYTHONPATH"]])
            env["PINGTREE_BENCH_SQLCOUNT"] = str(data / "sql")
        pinged = sold = 0
        with running([*serve, "--workers", str(args.workers)], env, port) as tree:
            time.sleep(1)
            target = Target(
                "pingtree",
                f"http://127.0.0.1:{port}/api/v1/ping",
                f"http://127.0.0.1:{port}/api/v1/post",
                {"Authorization": f"Bearer {key}"},
                tree.pid,
            )
            counter = SqlCounter(data / "sql", tree.pid) if args.count_sql else None
            for sellers in args.sellers:
                before = counter.reset if counter else lambda: None
                for tally in measure(target, sellers, args.seconds, args.warmup, before):
                    pinged, sold = pinged + tally.pinged, sold + tally.sold
                results[(label, engine, "pingtree", sellers)] = tally
                if counter:
                    counts[(label, engine, "pingtree", sellers)] = counter.collect()
                _progress(label, engine, "pingtree", sellers, tally)
        # stopped: the delivery log has written what it held
        checks.append(
            LogCheck(f"`{label}` {engine}", pinged, sold, args.buyers, stored_attempts(url))
        )


def _progress(label: str, engine: str, name: str, sellers: int, tally: Tally) -> None:
    print(
        f"  {label} {engine} {name} S={sellers}: {tally.sold_per_s:.0f} sold/s, "
        f"post p50 {percentile(tally.post_ms, 50):.1f} ms",
        file=sys.stderr,
        flush=True,
    )


# -- transactions per sale (--count-sql) -----------------------------------------------------


SqlCounts = dict[str, Any]


def process_tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *(p for child in children for p in process_tree(int(child)))]


@dataclass
class SqlCounter:
    """Drives bench/sqlcount in a running pingtree (``SIGUSR1``: write the counts, restart)."""

    prefix: Path
    pid: int

    def _signal(self) -> list[Path]:
        files = []
        for pid in process_tree(self.pid):
            path = Path(f"{self.prefix}.{pid}.json")
            path.unlink(missing_ok=True)
            os.kill(pid, signal.SIGUSR1)
            files.append(path)
        return files

    def reset(self) -> None:
        self._signal()

    def collect(self) -> SqlCounts:
        """The counts since :meth:`reset`, summed over the server's processes."""
        files = self._signal()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(f.exists() for f in files):
            time.sleep(0.05)
        origins: dict[str, dict[str, Any]] = {}
        events: collections.Counter[str] = collections.Counter()
        for path in files:
            if not path.exists():
                continue  # a process without a database (uvicorn's supervisor)
            data = json.loads(path.read_text())
            events.update(data["events"])
            for name, counted in data["origins"].items():
                mine = origins.get(name)
                if mine is None:
                    origins[name] = dict(counted)
                    continue
                for key in ("transactions", "statements", "locked"):
                    mine[key] += counted[key]
                for key in ("begin_wait_s", "held_s", "total_s"):
                    mine[key] += counted[key]
                for end, n in counted["ends"].items():
                    mine["ends"][end] = mine["ends"].get(end, 0) + n
        return {"origins": origins, "events": dict(events)}


def report_sql(
    results: dict[tuple[str, str, str, int], Tally],
    counts: dict[tuple[str, str, str, int], SqlCounts],
) -> None:
    print("\nTransactions per sale, by the code that opened them (--count-sql):")
    for key, counted in counts.items():
        label, engine, _, sellers = key
        sold = max(results[key].sold, 1)
        origins = sorted(counted["origins"].items(), key=lambda kv: -kv[1]["transactions"])
        txs = sum(o["transactions"] for _, o in origins)
        statements = sum(o["statements"] for _, o in origins)
        print(
            f"\n`{label}` {engine} S={sellers}: {txs / sold:.1f} transactions and "
            f"{statements / sold:.1f} statements per sale ({sold} sold)"
            + "".join(f"; {k}: {v}" for k, v in sorted(counted["events"].items()))
            + "\n"
        )
        print(
            "| opened by | per sale | statements | BEGIN wait | lock held | begin → end "
            "| ended | statements |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, o in origins:
            n = o["transactions"]
            locked = o["locked"]
            wait = f"{o['begin_wait_s'] * 1000 / locked:.1f} ms" if locked else "–"
            held = f"{o['held_s'] * 1000 / locked:.1f} ms" if locked else "–"
            ends = "/".join(f"{k} {v}" for k, v in o["ends"].items())
            shape = o["shapes"][0][0] if o["shapes"] else ""
            print(
                f"| {name} | {n / sold:.2f} | {o['statements'] / max(n, 1):.1f} | {wait} "
                f"| {held} | {o['total_s'] * 1000 / max(n, 1):.1f} ms | {ends} | {shape} |"
            )


# -- report ---------------------------------------------------------------------------------


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.1f} ms" if values else "–"


def report(
    args: argparse.Namespace,
    results: dict[tuple[str, str, str, int], Tally],
    checks: list[LogCheck],
) -> None:
    machine = platform.processor() or platform.machine()
    print(
        f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.buyers} buyers answering pings and posts in {args.latency_ms:g} ms; "
        f"{args.seconds:g} s per run after {args.warmup:g} s of warm-up; "
        f"pingtree workers: {args.workers}"
    )
    print()
    print(
        "| code | engine | target | sellers | sold/s | ping p50 | ping p99 | post p50 "
        "| post p90 | post p99 | non-200 | not sold | CPU per sale |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (label, engine, name, sellers), t in results.items():
        print(
            f"| {label} | {engine} | {name} | {sellers} | {t.sold_per_s:.0f} "
            f"| {_ms(t.ping_ms, 50)} | {_ms(t.ping_ms, 99)} | {_ms(t.post_ms, 50)} "
            f"| {_ms(t.post_ms, 90)} | {_ms(t.post_ms, 99)} | {sum(t.not_200.values())} "
            f"| {sum(t.not_sold.values())} | {t.cpu_ms:.2f} ms |"
        )
    errors = [
        f"- {label} {engine} {name} S={sellers}: "
        + ", ".join(f"{kind} × {n}" for kind, n in (t.not_200 + t.not_sold).most_common())
        for (label, engine, name, sellers), t in results.items()
        if t.not_200 or t.not_sold
    ]
    if errors:
        print("\nErrors by kind (measured runs):\n")
        print("\n".join(errors))
    print("\nDelivery log (all runs of each pingtree, warm-ups included):\n")
    print("\n".join(c.line() for c in checks))
    print("\nTargets (issue 11):\n")
    light = min(args.sellers)
    for (label, engine, name, sellers), t in results.items():
        if name != "pingtree":
            continue
        bare = results.get(("–", "–", BARE, sellers))
        share = f"{t.sold_per_s / bare.sold_per_s:.0%}" if bare and bare.sold_per_s else "–"
        line = f"- `{label}` {engine} S={sellers}: sold/s {share} of the bare proxy's"
        if sellers == light and t.post_ms:
            p50 = percentile(t.post_ms, 50) - args.latency_ms
            p99 = percentile(t.post_ms, 99) - args.latency_ms
            line += f"; post p50 buyer + {p50:.1f} ms (≤ 5), p99 buyer + {p99:.1f} ms (≤ 20)"
        print(line)


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buyers", type=int, default=10)
    parser.add_argument(
        "--latency-ms", type=float, default=50, help="the buyers' ping and post latency"
    )
    parser.add_argument("--seconds", type=float, default=10, help="each measured run")
    parser.add_argument("--warmup", type=float, default=2, help="before each measured run")
    parser.add_argument("--sellers", type=int, nargs="+", default=[4, 16, 32])
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="pingtree worker processes")
    parser.add_argument(
        "--code",
        type=Path,
        nargs="+",
        default=[ROOT],
        help="checkouts whose src/ pingtree runs from (default: this one)",
    )
    parser.add_argument(
        "--mockbuyer-code",
        type=Path,
        help="the checkout whose mock buyer serves the buyers (default: the first --code)",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare proxy")
    parser.add_argument(
        "--count-sql",
        action="store_true",
        help="count pingtree's transactions per sale by origin (bench/sqlcount; costs CPU: "
        "its timings are not figures)",
    )
    args = parser.parse_args()
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    python = sys.executable
    env = {
        **os.environ,
        "PINGTREE_SECRET_KEY": "bench-" + "k" * 40,
        # the mock buyers live on loopback, which a real deployment never calls
        "PINGTREE_OUTBOUND_ALLOW": '["127.0.0.1"]',
        # the buyers are one mock server: one host to the pool, as they are to the bare
        # proxy (whose pool has no bound)
        "PINGTREE_OUTBOUND_CONNECTIONS": "2048",
        "PINGTREE_OUTBOUND_CONNECTIONS_PER_HOST": "2048",
    }
    for name in ("PINGTREE_DATABASE_URL", "PINGTREE_REDIS_URL", "PYTHONPATH"):
        env.pop(name, None)
    results: dict[tuple[str, str, str, int], Tally] = {}
    checks: list[LogCheck] = []
    counts: dict[tuple[str, str, str, int], SqlCounts] = {}
    with tempfile.TemporaryDirectory() as tmp:
        endpoints = {
            f"b{i}": {
                "latency": {"kind": "fixed", "ms": args.latency_ms},
                "bid": {"kind": "uniform", "min": "5.00", "max": "40.00"},
            }
            for i in range(args.buyers)
        }
        buyers_file = Path(tmp) / "buyers.yaml"
        buyers_file.write_text(yaml.safe_dump({"endpoints": endpoints, "seed": 1}))
        mock_port, bare_port = free_port(), free_port()
        mock_args = [python, "-m", "pingtree", "mockbuyer", str(buyers_file)]
        mock_code = (args.mockbuyer_code or args.code[0]).resolve()
        mock_env = {**env, "PYTHONPATH": str(mock_code / "src")}
        with running([*mock_args, "--port", str(mock_port)], mock_env, mock_port):
            buyer_urls = [f"http://127.0.0.1:{mock_port}/b{i}" for i in range(args.buyers)]
            if not args.no_bare:
                bare_args = [python, str(ROOT / "bench/bare_pingpost.py"), "--port", str(bare_port)]
                with running([*bare_args, *buyer_urls], env, bare_port) as bare:
                    target = Target(
                        BARE,
                        f"http://127.0.0.1:{bare_port}/ping",
                        f"http://127.0.0.1:{bare_port}/post",
                        {},
                        bare.pid,
                    )
                    for sellers in args.sellers:
                        _, tally = measure(target, sellers, args.seconds, args.warmup)
                        results[("–", "–", BARE, sellers)] = tally
                        _progress("–", "–", BARE, sellers, tally)
            for code in args.code:
                for engine in engines:
                    try:
                        run_pingtree(
                            code.resolve(), engine, args, env, buyer_urls, results, checks, counts
                        )
                    except RuntimeError as exc:  # a checkout mid-edit: report the others
                        print(f"skipped {code} {engine}: {exc}", file=sys.stderr)
    report(args, results, checks)
    if counts:
        report_sql(results, counts)


if __name__ == "__main__":
    main()
