"""The delivery chain's and the notices' fixtures, exchanged over real HTTP on 127.0.0.1.

Each fixture's URLs are pointed at a loopback server that records the request it gets and
answers with the fixture's ``response``. Then:

- ``fixtures/chain_step``: the step is sent by the poster the chain uses
  (:func:`pingtree.delivery.poster.post_lead`, kind ``chain``): the buyer gets exactly
  ``expected_request`` (and the step's own ``Idempotency-Key``), the answer is read as
  ``expected_verdict`` and the delivery log keeps it, PII masked;
- ``fixtures/notices``: ``notice`` (won or lost, ping id, price, reason) fills the order's
  URL and :class:`pingtree.delivery.notices.NoticeSender` sends it: a GET of exactly
  ``expected_request``, logged as ``expected_outcome``; or the notices are refused when
  compiled (``expected_error``).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from pingtree.delivery.attempts import Attempt
from pingtree.delivery.client import BuyerClient, create_client
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.notices import Notice, NoticeSender, fill_notice_url
from pingtree.delivery.poster import PostContext, post_lead
from pingtree.delivery.spec import compile_delivery
from tests.delivery.support import KNOWN, PII, lead_values, resolve_secret
from tests.delivery.test_fixtures import fixture_step

FIXTURES = Path(__file__).parent / "fixtures"
CHAIN = sorted(FIXTURES.glob("chain_step/*/*.json"))
NOTICES = sorted(FIXTURES.glob("notices/*/*.json"))
#: read once, here: the tests are async and never block on a file
CASES: dict[Path, dict[str, Any]] = {p: json.loads(p.read_text()) for p in CHAIN + NOTICES}
_NOTICE_KEYS = {
    "description",
    "spec",
    "notice",
    "expected_request",
    "response",
    "expected_outcome",
    "expected_error",
}
LOOPBACK = ("127.0.0.1",)
SALE = "019a7b3c-0000-7000-8000-00000000c0de"


@dataclass
class Received:
    method: str
    path_qs: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Replayer:
    """A loopback HTTP server answering every request with one fixture's response."""

    response: Mapping[str, Any]
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.BaseRequest) -> web.Response:
        self.received.append(
            Received(request.method, request.path_qs, request.headers, await request.read())
        )
        return web.Response(
            status=self.response["status"],
            headers=self.response.get("headers", {}),
            body=self.response.get("body", "").encode(),
        )


@asynccontextmanager
async def replaying(response: Mapping[str, Any]) -> AsyncIterator[Replayer]:
    replayer = Replayer(response)
    sock = socket.create_server(("127.0.0.1", 0))
    replayer.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    runner = web.ServerRunner(web.Server(replayer.handle, access_log=None))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield replayer
    finally:
        await runner.cleanup()


@dataclass
class Log:
    """The delivery log as a list (the ``AttemptLog`` protocol)."""

    attempts: list[Attempt] = field(default_factory=list)

    def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)


@pytest.fixture
async def client() -> AsyncIterator[BuyerClient]:
    async with create_client(allow=LOOPBACK) as session:
        yield session


def _id(path: Path) -> str:
    return str(path.relative_to(FIXTURES).with_suffix(""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _pointed(raw: Any, origin: str, server: str) -> Any:
    """``raw`` with every URL of ``origin`` sent to ``server`` instead."""
    if isinstance(raw, str):
        return raw.replace(origin, server)
    if isinstance(raw, list):
        return [_pointed(item, origin, server) for item in raw]
    if isinstance(raw, dict):
        return {key: _pointed(value, origin, server) for key, value in raw.items()}
    return raw


def _check_received(received: list[Received], expected: Mapping[str, Any]) -> Received:
    (got,) = received  # sent once
    wanted = urlsplit(expected["url"])
    assert got.method == expected["method"]
    assert got.path_qs == wanted.path + (f"?{wanted.query}" if wanted.query else "")
    for name, value in expected.get("headers", {}).items():
        assert got.headers.get(name) == value, name
    assert got.body.decode() == expected["body"]
    return got


def test_every_chain_and_notice_fixture_is_run_here() -> None:
    assert len(CHAIN) >= 4
    assert len(NOTICES) >= 5
    for path in NOTICES:
        case = CASES[path]
        assert set(case) <= _NOTICE_KEYS, set(case) - _NOTICE_KEYS
        assert ("expected_outcome" in case) != ("expected_error" in case), path
        if path.parent.name == "exemplary":
            assert "expected_error" not in case, path
    for path in CHAIN:
        assert "expected_verdict" in CASES[path], path


@pytest.mark.parametrize("path", CHAIN, ids=_id)
async def test_a_chain_step_over_http(path: Path, client: BuyerClient) -> None:
    case = CASES[path]
    expected = case["expected_request"]
    async with replaying(case["response"]) as buyer:
        spec = _pointed(case["spec"], _origin(expected["url"]), buyer.url)
        step = fixture_step(compile_delivery(spec, PII, KNOWN), case["step"])
        values = lead_values(case["lead"])
        pii = {name: str(value) for name, value in values.items() if name in PII}
        log = Log()
        name = case["step"].removeprefix("chain.")
        posted = await post_lead(
            client,
            step,
            values,
            token=case.get("token"),
            context=PostContext(f"{SALE}.{name}", "crm_order", "shield", "lead-1", "ping-1"),
            pii=pii,
            resolve_secret=resolve_secret,
            log=log,
            tries_left=step.retries > 0,
            kind="chain",
        )
    sent = _check_received(buyer.received, expected)
    # the step's own key: a re-sent step is recognised, and never taken for the post
    assert sent.headers["Idempotency-Key"] == f"{SALE}.{name}"
    verdict = case["expected_verdict"]
    assert (str(posted.verdict), posted.reason) == (verdict["verdict"], verdict["reason"])
    (logged,) = log.attempts
    assert (logged.kind, logged.outcome, logged.status) == (
        "chain",
        verdict["verdict"],
        case["response"]["status"],
    )
    # the log keeps placeholders, never the lead's personal data
    kept = logged.request_body + logged.url + json.dumps(dict(logged.request_headers))
    assert not [value for value in pii.values() if value in kept], kept
    assert "key-456" not in kept  # a credential is masked too


@pytest.mark.parametrize("path", NOTICES, ids=_id)
async def test_a_notice_over_http(path: Path, client: BuyerClient) -> None:
    case = CASES[path]
    notice = case["notice"]
    if "expected_error" in case:
        wanted = case["expected_error"]
        assert wanted["stage"] == "compile"
        with pytest.raises(DeliveryConfigError) as refused:
            compile_delivery(case["spec"], PII, KNOWN)
        assert any(
            where == wanted["path"] and wanted["contains"] in msg
            for where, msg in refused.value.issues
        ), refused.value.issues
        return
    expected = case["expected_request"]
    async with replaying(case["response"]) as buyer:
        spec = _pointed(case["spec"], _origin(expected["url"]), buyer.url)
        notices = compile_delivery(spec, PII, KNOWN).notices
        assert notices is not None
        url = notices.win if notice["won"] else notices.loss
        assert url is not None
        log = Log()
        sender = NoticeSender(client, log)
        sender.send(
            [
                Notice(
                    order_id="live_order",
                    buyer_id="shield",
                    ping_id=notice["ping_id"],
                    url=fill_notice_url(url, notice["ping_id"], notice["price"], notice["reason"]),
                    timeout_s=notices.timeout_s,
                    won=notice["won"],
                )
            ]
        )
        for _ in range(500):  # sent off the caller's path: wait for its line in the log
            if log.attempts:
                break
            await asyncio.sleep(0.01)
        await sender.stop()
    _check_received(buyer.received, expected)
    outcome = case["expected_outcome"]
    (logged,) = log.attempts
    assert (logged.kind, logged.method, logged.ping_id) == ("notice", "GET", notice["ping_id"])
    assert (logged.outcome, logged.status, dict(logged.parsed)) == (
        outcome["outcome"],
        outcome["status"],
        outcome["parsed"],
    )
