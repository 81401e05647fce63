"""The outbox across a crash: a killed server's deliveries are finished by the next one,
and a post that may have reached the buyer is never sent again (DESIGN §8.6)."""

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

_TAKES = {"check_token": False}


class Site:
    """One database; servers started and killed on it, one at a time."""

    def __init__(self, tmp_path: Path, buyer_port: int, post: dict[str, Any]) -> None:
        settings = market_settings(tmp_path)
        self.env = server_env(
            settings,
            SECRET,
            PINGTREE_OUTBOUND_ALLOW='["127.0.0.1"]',
            PINGTREE_OUTBOX_LEASE_SECONDS="1",
            PINGTREE_OUTBOX_POLL_SECONDS="0.2",
            # long enough to kill a server between two tries, never during one
            PINGTREE_OUTBOX_BACKOFF_SECONDS="4",
        )
        self.log = tmp_path / "servers.log"
        step = {
            "url": f"http://127.0.0.1:{buyer_port}/taker/post",
            "content_type": "json",
            "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
            "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
            **post,
        }
        market = marketplace(
            [buyer("taker", order("taker_fixed", "30.00", delivery={"post": step}))],
            [campaign(wait_for_delivery=False)],
        )
        config = tmp_path / "market.yaml"
        config.write_text(yaml.safe_dump(market))
        cli(self.env, "apply", str(config))
        self.seller = {"Authorization": f"Bearer {cli(self.env, 'key', 'create', 'acme_auto')}"}
        self.admin = {"Authorization": f"Bearer {admin_token(settings)}"}
        self.server: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.server = start_server(self.env, port, self.log)
        self.url = f"http://127.0.0.1:{port}"

    def kill(self) -> None:
        assert self.server is not None
        kill_server(self.server)
        self.server = None

    def stop(self) -> None:
        if self.server is not None:
            stop_server(self.server)

    def sell(self) -> str:
        pinged = httpx.post(f"{self.url}/api/v1/ping", json={"fields": PING}, headers=self.seller)
        ping_id = pinged.json()["ping_id"]
        body = {"ping_id": ping_id, "fields": {**PING, **CONTACT}}
        answer = httpx.post(f"{self.url}/api/v1/post", json=body, headers=self.seller).json()
        assert answer["status"] == "accepted", answer
        return str(answer["lead_id"])

    def deliveries(self, lead_id: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/admin/leads/{lead_id}/deliveries"
        return list(httpx.get(url, headers=self.admin).json())

    def answer(self, lead_id: str) -> dict[str, Any]:
        url = f"{self.url}/api/v1/leads/{lead_id}"
        return dict(httpx.get(url, headers=self.seller).json())


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    made: list[Site] = []

    def make(buyer_port: int, **post: Any) -> Site:
        made.append(Site(tmp_path, buyer_port, post))
        return made[-1]

    yield make
    for one in made:
        one.stop()


def _waiting_to_retry(delivery: dict[str, Any]) -> bool:
    return bool(delivery["status"] == "queued" and delivery["tries"] >= 1)


def _until(check: Callable[[], bool], seconds: float = 20) -> None:
    give_up = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.1)


def test_a_delivery_interrupted_by_a_crash_is_finished_after_the_restart(
    site: Callable[..., Site],
):
    buyer_port = free_port()  # nobody listens there yet: the buyer is down
    one = site(buyer_port, retries=5, timeout_ms=1000)
    one.start()
    lead_id = one.sell()
    # the post failed to connect and waits to be retried; the server dies meanwhile
    _until(lambda: _waiting_to_retry(one.deliveries(lead_id)[0]))
    one.kill()
    with running_buyers({"taker": _TAKES}, port=buyer_port) as mock:
        one.start()
        _until(lambda: one.answer(lead_id)["status"] == "sold")
        assert len(mock.requests_to("taker", "post")) == 1
    (delivery,) = one.deliveries(lead_id)
    assert delivery["status"] == "delivered"


def test_a_post_cut_off_by_a_crash_is_unknown_and_never_sent_twice(
    site: Callable[..., Site],
):
    buyer_port = free_port()
    hanging = {**_TAKES, "misbehaviour": {"kind": "hang", "on": "post"}}
    with running_buyers({"taker": hanging}, port=buyer_port) as mock:
        one = site(buyer_port, retries=5, timeout_ms=3000)
        one.start()
        lead_id = one.sell()
        # the buyer holds the post; the server dies before any answer
        _until(lambda: len(mock.requests_to("taker", "post")) == 1)
        one.kill()
        one.start()
        _until(lambda: one.deliveries(lead_id)[0]["status"] == "unknown")
        assert one.answer(lead_id)["status"] == "pending"
        time.sleep(1.5)  # a few more sweeps of the worker: still one post
        assert len(mock.requests_to("taker", "post")) == 1
