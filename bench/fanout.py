"""The fan-out benchmark: pingtree against a bare fan-out, same buyers, same run.

    .venv/bin/python bench/fanout.py [--buyers 10] [--latency-ms 50] [--seconds 10]

Starts, each in its own process on 127.0.0.1: the mock buyer (``--buyers`` endpoints that
answer a bid after ``--latency-ms``), pingtree (``pingtree serve``, embedded SQLite, one
``bid`` order per buyer) and the bare fan-out (``bench/bare_fanout.py``: an aiohttp proxy
that pings every buyer at once and returns the best bid, nothing else). A load generator
in this process then sends pings for ``--seconds`` at a light load (8 connections) and at
saturation (64), first to the bare fan-out, then to pingtree, and prints pings/s and
p50/p90/p99 latency of each, with the CPU time the target process (and its workers) spent
per ping, and counts the delivery log's ping attempts against the pings answered × buyers.
Prints a Markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.core import percentile  # noqa: E402

FIELDS = {"zip": "33101", "state": "FL", "age": 34}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and its child processes (Linux ``/proc``)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return math.nan
    return total + sum(cpu_seconds(int(child)) for child in children)


def marketplace(buyer_urls: list[str]) -> dict[str, Any]:
    response = {
        "accepted": {"json": "$.status", "equals": ["success"]},
        "bid": {"json": "$.price"},
        "token": {"json": "$.ping_id"},
    }
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
                            "timeout_ms": 900,
                            "body": {"fields": [{"from": k, "to": k} for k in FIELDS]},
                            "response": response,
                        },
                        "post": {"same_as": "ping", "url": f"{url}/post"},
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
                    {"name": "zip", "type": "zip", "ping": "required"},
                    {"name": "state", "type": "state", "ping": "required"},
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
                        "payout": {"model": "revenue_share", "percent": 70},
                        "ping_deadline_ms": 1000,
                    }
                ],
            }
        ],
        "buyers": buyers,
    }


async def load(
    url: str, headers: dict[str, str], connections: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    accepted = 0
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def worker() -> None:
            nonlocal errors, accepted
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                async with client.post(url, json={"fields": FIELDS}, headers=headers) as response:
                    answer = await response.json()
                if response.status != 200 or answer.get("status") != "accepted":
                    errors += 1
                else:
                    accepted += 1
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - began
    return {
        "elapsed": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p90": percentile(latencies, 90),
        "p99": percentile(latencies, 99),
        "errors": errors,
        "accepted": accepted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buyers", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1, help="pingtree worker processes")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[8, 64], help="load levels to run"
    )
    args = parser.parse_args()
    python = sys.executable
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[tuple[str, int], dict[str, float]] = {}
    #: pings pingtree answered (warm-ups too): each should leave one attempt per buyer
    tree_pings = 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = {
            **os.environ,
            "PINGTREE_DATA_DIR": str(data),
            "PINGTREE_SECRET_KEY": "bench-" + "k" * 40,
            # the mock buyers live on loopback, which a real deployment never calls
            "PINGTREE_OUTBOUND_ALLOW": '["127.0.0.1"]',
            # the buyers are one mock server: one host to the pool, as they are to the bare
            # fan-out (whose pool has no bound)
            "PINGTREE_OUTBOUND_CONNECTIONS": "2048",
            "PINGTREE_OUTBOUND_CONNECTIONS_PER_HOST": "2048",
        }
        for name in ("PINGTREE_DATABASE_URL", "PINGTREE_REDIS_URL"):
            env.pop(name, None)
        try:
            mock_port, bare_port, tree_port = free_port(), free_port(), free_port()
            endpoints = {
                f"b{i}": {
                    "latency": {"kind": "fixed", "ms": args.latency_ms},
                    "bid": {"kind": "uniform", "min": "5.00", "max": "40.00"},
                }
                for i in range(args.buyers)
            }
            (data / "buyers.yaml").write_text(yaml.safe_dump({"endpoints": endpoints, "seed": 1}))
            mock = subprocess.Popen(
                [
                    python,
                    "-m",
                    "pingtree",
                    "mockbuyer",
                    str(data / "buyers.yaml"),
                    "--port",
                    str(mock_port),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(mock)
            mock_url = f"http://127.0.0.1:{mock_port}"
            wait_http(mock_url, mock)
            buyer_urls = [f"{mock_url}/b{i}" for i in range(args.buyers)]
            bare = subprocess.Popen(
                [
                    python,
                    str(ROOT / "bench/bare_fanout.py"),
                    "--port",
                    str(bare_port),
                    *(f"{u}/ping" for u in buyer_urls),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(bare)
            (data / "market.yaml").write_text(yaml.safe_dump(marketplace(buyer_urls)))
            subprocess.run(
                [python, "-m", "pingtree", "apply", str(data / "market.yaml")],
                env=env,
                check=True,
                capture_output=True,
            )
            key = subprocess.run(
                [python, "-m", "pingtree", "key", "create", "seller-auto"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            tree = subprocess.Popen(
                [
                    python,
                    "-m",
                    "pingtree",
                    "serve",
                    "--port",
                    str(tree_port),
                    "--workers",
                    str(args.workers),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(tree)
            wait_http(f"http://127.0.0.1:{bare_port}", bare)
            wait_http(f"http://127.0.0.1:{tree_port}", tree)
            time.sleep(1)
            targets = {
                "bare fan-out": (f"http://127.0.0.1:{bare_port}/ping", {}, bare.pid),
                "pingtree": (
                    f"http://127.0.0.1:{tree_port}/api/v1/ping",
                    {"Authorization": f"Bearer {key}"},
                    tree.pid,
                ),
            }
            for connections in args.connections:
                for name, (url, headers, pid) in targets.items():
                    warm = asyncio.run(load(url, headers, connections, 2))  # warm up
                    cpu = cpu_seconds(pid)
                    result = asyncio.run(load(url, headers, connections, args.seconds))
                    pings = result["rps"] * result["elapsed"]
                    result["cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / max(pings, 1)
                    results[(name, connections)] = result
                    if name == "pingtree":
                        tree_pings += int(warm["accepted"] + result["accepted"])
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
        # pingtree has stopped: its delivery log wrote what it held
        with contextlib.closing(sqlite3.connect(data / "pingtree.db")) as db:
            (stored,) = db.execute("SELECT count(*) FROM attempts WHERE kind = 'ping'").fetchone()
    machine = platform.processor() or platform.machine()
    print(
        f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.buyers} buyers answering in {args.latency_ms:.0f} ms; "
        f"{args.seconds:.0f} s per run; pingtree workers: {args.workers}"
    )
    print()
    print("| target | connections | pings/s | p50 | p90 | p99 | errors | CPU per ping |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, connections), r in results.items():
        print(
            f"| {name} | {connections} | {r['rps']:.0f} | {r['p50']:.1f} ms | {r['p90']:.1f} ms "
            f"| {r['p99']:.1f} ms | {r['errors']:.0f} | {r['cpu_ms']:.2f} ms |"
        )
    expected = tree_pings * args.buyers
    print(
        f"\nDelivery log: pingtree answered {tree_pings} pings (warm-ups included) × "
        f"{args.buyers} buyers = {expected} attempts expected, {stored} stored: "
        f"{max(expected - stored, 0)} missing"
    )


if __name__ == "__main__":
    main()
