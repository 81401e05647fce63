"""Two server processes race for the last slots of one cap: it is never exceeded."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.api.conftest import SECRET, admin_token, market_settings
from tests.api.market import CONTACT, PING, buyer, marketplace, order
from tests.support.processes import cli, free_port, server_env, start_server

CAP = 5


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    settings = market_settings(tmp_path)
    env = server_env(settings, SECRET)
    config = tmp_path / "market.yaml"
    capped = order("capped", "20.00", caps=[{"kind": "count", "window": "total", "limit": CAP}])
    config.write_text(yaml.safe_dump(marketplace([buyer("b", capped)])))
    cli(env, "apply", str(config))
    key = cli(env, "key", "create", "acme_auto")
    ports = [free_port(), free_port()]
    servers = [start_server(env, port, tmp_path / "servers.log") for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        yield urls, {"Authorization": f"Bearer {key}", "admin": admin_token(settings)}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


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
