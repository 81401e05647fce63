"""Two server processes race for the last slots of one cap: it is never exceeded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.api.conftest import SECRET, admin_token, market_settings
from tests.api.market import CONTACT, PING, buyer, marketplace, order

CAP = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pingtree", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    settings = market_settings(tmp_path)
    env = {
        **os.environ,
        "PINGTREE_DATA_DIR": str(tmp_path),
        "PINGTREE_DATABASE_URL": settings.resolved_database_url(),
        "PINGTREE_SECRET_KEY": SECRET,
    }
    if settings.redis_url:
        env["PINGTREE_REDIS_URL"] = settings.redis_url
    else:
        env.pop("PINGTREE_REDIS_URL", None)
    config = tmp_path / "market.yaml"
    capped = order("capped", "20.00", caps=[{"kind": "count", "window": "total", "limit": CAP}])
    config.write_text(yaml.safe_dump(marketplace([buyer("b", capped)])))
    _cli(env, "apply", str(config))
    key = _cli(env, "key", "create", "acme_auto")
    ports = [_free_port(), _free_port()]
    log = (tmp_path / "servers.log").open("wb")
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "pingtree", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, server in zip(urls, servers, strict=True):
            _wait_ready(url, server, tmp_path / "servers.log")
        yield urls, {"Authorization": f"Bearer {key}", "admin": admin_token(settings)}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        log.close()


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"server exited: {server.stderr.read().decode() if server.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become ready")


def test_two_processes_never_exceed_a_cap(two_servers: tuple[list[str], dict[str, str]]) -> None:
    urls, auth = two_servers
    seller = {"Authorization": auth["Authorization"]}

    def attempt(i: int) -> str:
        with httpx.Client(base_url=urls[i % 2], timeout=30) as http:
            pinged = http.post("/api/v1/ping", json={"fields": PING}, headers=seller).json()
            if pinged["status"] != "accepted":
                return str(pinged["status"])
            body = {
                "ping_id": pinged["ping_id"],
                "fields": {**PING, **CONTACT, "email": f"c{i}@example.com"},
            }
            return str(http.post("/api/v1/post", json=body, headers=seller).json()["status"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(attempt, range(60)))
    assert answers.count("sold") == CAP
    sales = httpx.get(
        f"{urls[0]}/api/v1/admin/sales",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {auth['admin']}"},
    ).json()
    assert len(sales) == CAP
