"""Two server processes race for the last slots of one cap: it is never exceeded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.api.conftest import SECRET, admin_token, market_settings
from tests.api.market import CONTACT, PING, buyer, marketplace, order
from tests.support.processes import cli, free_port, server_env, start_servers

CAP = 5


@contextmanager
def _two_servers(
    tmp_path: Path, market: dict[str, Any]
) -> Iterator[tuple[list[str], dict[str, str]]]:
    settings = market_settings(tmp_path)
    env = server_env(settings, SECRET)
    config = tmp_path / "market.yaml"
    config.write_text(yaml.safe_dump(market))
    cli(env, "apply", str(config))
    key = cli(env, "key", "create", "acme_auto")
    ports = [free_port(), free_port()]
    servers = start_servers(env, ports, tmp_path / "servers.log")
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        yield urls, {"Authorization": f"Bearer {key}", "admin": admin_token(settings)}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    capped = order("capped", "20.00", caps=[{"kind": "count", "window": "total", "limit": CAP}])
    with _two_servers(tmp_path, marketplace([buyer("b", capped)])) as servers:
        yield servers


def _race(urls: list[str], auth: dict[str, str]) -> list[str]:
    """60 ping-then-post pairs, 16 at a time, over both servers; each pair's last status."""
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
        return list(pool.map(attempt, range(60)))


def test_two_processes_never_exceed_a_cap(two_servers: tuple[list[str], dict[str, str]]) -> None:
    urls, auth = two_servers
    answers = _race(urls, auth)
    assert answers.count("sold") == CAP
    sales = httpx.get(
        f"{urls[0]}/api/v1/admin/sales",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {auth['admin']}"},
    ).json()
    assert len(sales) == CAP


def test_two_processes_never_spend_more_than_a_prepaid_balance(tmp_path: Path) -> None:
    prepaid = buyer("b", order("fl", "20.00"), account={"kind": "prepaid"})
    with _two_servers(tmp_path, marketplace([prepaid])) as (urls, auth):
        admin = {"Authorization": f"Bearer {auth['admin']}"}
        topped = httpx.post(
            f"{urls[1]}/api/v1/admin/accounts/buyer/b/topups",
            json={"amount": f"{CAP * 20}.00", "note": "prepaid"},
            headers=admin,
        )
        assert topped.status_code == 201, topped.text
        time.sleep(1.5)  # the first server's cap room sees the top-up within its second
        answers = _race(urls, auth)
        assert answers.count("sold") == CAP
        account = httpx.get(f"{urls[0]}/api/v1/admin/accounts/buyer/b", headers=admin).json()
    assert account["balance"] == "0.00"
    assert [e["kind"] for e in account["entries"]] == ["topup"] + ["sale"] * CAP
