"""Conversion postbacks across a crash: a postback the killed server could not send (its
tracker was down) is sent by the next server from its durable row, once."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.api.conftest import SECRET, admin_token, market_settings
from tests.api.market import CONTACT, PING, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers
from tests.support.processes import (
    cli,
    free_port,
    kill_server,
    server_env,
    start_server,
    stop_server,
)
from tests.support.tracker import running_tracker


def _until(check: Callable[[], bool], seconds: float = 30) -> None:
    give_up = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.1)


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for server in running:
        if server.poll() is None:
            stop_server(server)


def test_an_unsent_postback_is_sent_after_a_restart(
    tmp_path: Path, servers: list[subprocess.Popen[bytes]]
) -> None:
    tracker_port = free_port()  # nobody listens there yet: the tracker is down
    settings = market_settings(tmp_path)
    env = server_env(
        settings,
        SECRET,
        PINGTREE_OUTBOUND_ALLOW='["127.0.0.1"]',
        PINGTREE_OUTBOX_LEASE_SECONDS="1",
        PINGTREE_OUTBOX_POLL_SECONDS="0.2",
        # long enough to kill the server between two tries, never during one
        PINGTREE_OUTBOX_BACKOFF_SECONDS="4",
    )
    log = tmp_path / "servers.log"
    with running_buyers({"taker": {"check_token": False}}) as mock:
        step = {
            "url": mock.post_url("taker"),
            "content_type": "json",
            "body": {"fields": [{"from": "zip", "to": "zip"}]},
            "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
        }
        postback = f"http://127.0.0.1:{tracker_port}/cb?click={{click_id}}&status={{status}}"
        config = tmp_path / "market.yaml"
        config.write_text(
            yaml.safe_dump(
                marketplace(
                    [buyer("taker", order("taker_fixed", "30.00", delivery={"post": step}))],
                    [campaign(wait_for_delivery=False, postback_url=postback)],
                )
            )
        )
        cli(env, "apply", str(config))
        seller = {"Authorization": f"Bearer {cli(env, 'key', 'create', 'acme_auto')}"}
        admin = {"Authorization": f"Bearer {admin_token(settings)}"}

        def start() -> str:
            port = free_port()
            servers.append(start_server(env, port, log))
            return f"http://127.0.0.1:{port}"

        def rows(url: str, lead_id: str) -> list[dict[str, Any]]:
            lead = httpx.get(f"{url}/api/v1/admin/leads/{lead_id}", headers=admin).json()
            return list(lead["postbacks"])

        url = start()
        fields = {**PING, "click_id": "clk-7"}
        pinged = httpx.post(f"{url}/api/v1/ping", json={"fields": fields}, headers=seller).json()
        body = {"ping_id": pinged["ping_id"], "fields": {**fields, **CONTACT}}
        answer = httpx.post(f"{url}/api/v1/post", json=body, headers=seller).json()
        lead_id = answer["lead_id"]
        # the lead sold; its postback failed to connect and waits; the server dies
        _until(lambda: any(r["status"] == "queued" and r["tries"] >= 1 for r in rows(url, lead_id)))
        kill_server(servers[-1])
        with running_tracker(port=tracker_port) as tracker:
            url = start()
            (heard,) = tracker.wait_for(1)
            _until(lambda: rows(url, lead_id)[0]["status"] == "sent")
            time.sleep(1)  # a few more sweeps of the worker: still one postback
            assert len(tracker.heard) == 1
    assert heard.query == {"click": "clk-7", "status": "sold"}
    (row,) = rows(url, lead_id)
    assert [a["status"] for a in row["attempts"]] == [None, 200]
    assert row["attempts"][0]["error"] == "connect"
