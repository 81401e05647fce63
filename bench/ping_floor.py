"""A ping with no buyer to wait for, over HTTP, against an empty FastAPI handler (issue 18).

    .venv/bin/python bench/ping_floor.py [--pings 2000] [--orders 100] [--code DIR …]

Each in its own process on 127.0.0.1, served by uvicorn as ``pingtree serve`` serves
(uvloop, httptools, no access log):

- **empty FastAPI**: ``bench/empty_app.py``, one ``POST /api/v1/ping`` route taking the
  JSON body as a model and answering a constant ``accepted`` (what any FastAPI endpoint
  pays: HTTP, routing, the body's parse and validation, the answer's serialization);
- **pingtree**: ``pingtree serve`` on embedded SQLite in a temporary directory, with
  ``bench/core.py``'s marketplace of ``--orders`` fixed-price orders (10 per buyer, each
  with a state and age filter, a daily count cap and a schedule), no live bidder: the whole
  ping (key, validation, auction with its trace, the winner's cap hold, the stored ping)
  but no network wait.

One client, one kept-alive connection to each, pings sent one at a time and alternated
between the two, so that both see the same machine; the same seeded leads. Printed: p50,
p90, p99 of each, pingtree's excess over the empty handler, and each server's CPU per
ping. ``--code DIR …`` runs pingtree from each checkout's ``src`` in turn (before/after).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import STATES, marketplace, percentile  # noqa: E402
from bench.fanout import cpu_seconds, free_port  # noqa: E402
from bench.sale import code_label, running  # noqa: E402


def _leads(count: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {"fields": {"state": rng.choice(STATES), "zip": "33101", "age": rng.randint(25, 50)}}
        for _ in range(count)
    ]


class _Client:
    """Pings over one kept-alive connection; the round trip's milliseconds."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self._headers = {"Content-Type": "application/json", **headers}

    def ping(self, lead: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        body = json.dumps(lead)
        started = time.perf_counter()
        self._connection.request("POST", "/api/v1/ping", body, self._headers)
        response = self._connection.getresponse()
        answer = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {answer[:300]!r}")
        return elapsed, json.loads(answer)

    def close(self) -> None:
        self._connection.close()


def _pingtree_env(code: Path, data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(code / "src"), str(ROOT)]),
        "PINGTREE_DATA_DIR": str(data),
        "PINGTREE_SECRET_KEY": "bench-" + "k" * 40,
    }


def _cli(env: dict[str, str], *words: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pingtree", *words], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"pingtree {' '.join(words)}:\n{done.stderr[-4000:]}")
    return done.stdout.strip()


def measure(code: Path, args: argparse.Namespace) -> dict[str, Any]:
    leads = _leads(args.pings + args.warmup)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = _pingtree_env(code, data)
        _cli(env, "migrate")
        (data / "market.yaml").write_text(yaml.safe_dump(marketplace(args.orders)))
        _cli(env, "apply", str(data / "market.yaml"))
        key = _cli(env, "key", "create", "seller-auto").splitlines()[-1].strip()
        pingtree_port, empty_port = free_port(), free_port()
        serve = [sys.executable, "-m", "pingtree", "serve", "--port", str(pingtree_port)]
        empty = [
            *(sys.executable, "-m", "uvicorn", "bench.empty_app:app"),
            *("--port", str(empty_port), "--log-level", "warning", "--no-access-log"),
        ]
        empty_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with (
            running(serve, env, pingtree_port) as pingtree,
            running(empty, empty_env, empty_port) as bare,
        ):
            time.sleep(1)
            targets = {
                "empty FastAPI": (_Client(empty_port, {}), bare.pid),
                "pingtree": (
                    _Client(pingtree_port, {"Authorization": f"Bearer {key}"}),
                    pingtree.pid,
                ),
            }
            times: dict[str, list[float]] = {name: [] for name in targets}
            accepted = 0
            cpu: dict[str, float] = {}
            for i, lead in enumerate(leads):
                if i == args.warmup:
                    cpu = {name: cpu_seconds(pid) for name, (_, pid) in targets.items()}
                for name, (client, _) in targets.items():
                    elapsed, answer = client.ping(lead)
                    if i >= args.warmup:
                        times[name].append(elapsed)
                        accepted += name == "pingtree" and answer.get("status") == "accepted"
            cpu_per_ping = {
                name: (cpu_seconds(pid) - cpu[name]) * 1000 / args.pings
                for name, (_, pid) in targets.items()
            }
            for client, _ in targets.values():
                client.close()
    return {"times": times, "cpu": cpu_per_ping, "accepted": accepted}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pings", type=int, default=2000, help="measured, to each server")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--code", type=Path, nargs="+", default=[ROOT])
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.pings} pings to each after {args.warmup} of warm-up; {args.orders} orders")
    print()
    print("| code | target | p50 | p90 | p99 | p50 over empty | CPU per ping | accepted |")
    print("|---|---|---|---|---|---|---|---|")
    for code in args.code:
        label = code_label(code)
        result = measure(code, args)
        empty_p50 = percentile(result["times"]["empty FastAPI"], 50)
        for name, times in result["times"].items():
            p50 = percentile(times, 50)
            over = f"+ {p50 - empty_p50:.2f} ms" if name == "pingtree" else "–"
            accepted = f"{result['accepted']}" if name == "pingtree" else "–"
            print(
                f"| {label} | {name} | {p50:.2f} ms | {percentile(times, 90):.2f} ms | "
                f"{percentile(times, 99):.2f} ms | {over} | {result['cpu'][name]:.2f} ms | "
                f"{accepted} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
