"""The crash harness: a real ``pingtree serve`` killed with SIGKILL at a boundary of the sale,
restarted on the same database, and counted (DESIGN §9 "One durable step per sale", §8.6).

A :class:`Site` is one database (SQLite, or PostgreSQL + Redis, as the environment asks)
with its marketplace applied and its campaign keys made; servers are started on it one at
a time, ``armed`` with a failpoint (the process kills itself when the sale reaches it) or
not. The point is armed through a file (``PINGTREE_FAILPOINTS_FILE``), so a running server
can be armed too: the server that survived one case is the next case's armed server, and a
case starts one process (its restart), not two. The mock buyers live in the test process,
so they outlive every server and count every post they received.

The marketplace has lanes, told apart by the lead's zip (each order filters on it),
each with a first buyer ($30) and a second ($20) to fall back to:

- ``hold``: a post of unknown outcome waits for an operator (``on_unknown: hold``);
- ``retry``: it is re-sent with the same ``Idempotency-Key`` (``on_unknown: retry``);
- ``flaky``: the first buyer's endpoint answers 503 until the test says otherwise;
- ``slow``: the first buyer answers in 300 ms and dedupes (``on_unknown: retry``).

Every order has a count cap over its whole life, so committed use can be compared with
the sales it sold. Two campaigns sell into every lane: ``wait`` (``wait_for_delivery``) and
``nowait``.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml
from sqlalchemy import select

from pingtree.failpoints import FILE_ENV, POINTS
from pingtree.mockbuyer import EndpointConfig, MockBuyer
from pingtree.store.db import create_engine
from pingtree.store.tables import CapUsage
from tests.api.conftest import SECRET, admin_token, market_settings
from tests.api.market import buyer, campaign, marketplace, order
from tests.support.processes import free_port, kill_server, server_env, start_server, stop_server

__all__ = [
    "CAMPAIGNS",
    "FLAKY",
    "HOLD",
    "LANES",
    "RETRY",
    "SLOW",
    "Lane",
    "SellerCall",
    "Site",
    "buyer_endpoints",
    "crash_marketplace",
    "until",
]

#: what a mock buyer endpoint is told: take every post (fixed-price orders send no token)
TAKES: dict[str, Any] = {"check_token": False}
BUSY: dict[str, Any] = {**TAKES, "misbehaviour": {"kind": "error", "status": 503, "on": "post"}}

CAMPAIGNS = ("wait", "nowait")
#: a post's timeout; with the lease below, a row its server left is free a second later
POST_TIMEOUT_MS = 500
#: the cap of every order: far above what a module sells, so it only counts
CAP = {"kind": "count", "window": "total", "limit": 10_000}


@dataclass(frozen=True)
class Lane:
    name: str
    zip: str
    #: the post step's ``on_unknown``
    on_unknown: str
    #: the mock endpoints of the first and the second buyer's orders
    first: str = "first"
    second: str = "second"

    @property
    def orders(self) -> tuple[str, str]:
        return f"first_{self.name}", f"second_{self.name}"


HOLD = Lane("hold", "33101", "hold")
RETRY = Lane("retry", "33102", "retry")
FLAKY = Lane("flaky", "33103", "hold", first="flaky")
LANES = (HOLD, RETRY, FLAKY)
#: a buyer that answers in 300 ms and dedupes on the Idempotency-Key
SLOW = Lane("slow", "33104", "retry", first="slow")


def buyer_endpoints() -> dict[str, dict[str, Any]]:
    return {
        "first": TAKES,
        "second": TAKES,
        "flaky": BUSY,
        "slow": {**TAKES, "latency": {"kind": "fixed", "ms": 300}},
    }


def crash_marketplace(
    mock: MockBuyer,
    lanes: Iterable[Lane] = LANES,
    *,
    timeout_ms: int = POST_TIMEOUT_MS,
) -> dict[str, Any]:
    """Two buyers, each with one order per lane, and the two campaigns."""
    firsts, seconds = [], []
    for lane in lanes:
        firsts.append(_order(mock, lane, lane.orders[0], lane.first, "30.00", timeout_ms))
        seconds.append(_order(mock, lane, lane.orders[1], lane.second, "20.00", timeout_ms))
    return marketplace(
        [buyer("first", *firsts), buyer("second", *seconds)],
        [
            campaign("wait", wait_for_delivery=True, post_deadline_ms=10_000),
            campaign("nowait", wait_for_delivery=False),
        ],
    )


def _order(
    mock: MockBuyer, lane: Lane, order_id: str, endpoint: str, price: str, timeout_ms: int
) -> dict[str, Any]:
    step = {
        "url": mock.post_url(endpoint),
        "content_type": "json",
        "timeout_ms": timeout_ms,
        "retries": 3,
        "on_unknown": lane.on_unknown,
        "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    return order(
        order_id,
        price,
        filters={"all": [{"field": "zip", "op": "eq", "value": lane.zip}]},
        caps=[CAP],
        delivery={"post": step},
    )


_phones = itertools.count(1000)


@dataclass(frozen=True)
class SellerCall:
    """One seller's post, repeatable byte for byte: a post of its ping, or a direct post
    with its ``Idempotency-Key``."""

    campaign: str
    path: str
    body: dict[str, Any]
    idempotency_key: str | None
    #: the lead's phone as a buyer receives it (how a buyer's posts are told apart)
    phone: str
    ping_id: str | None = None


def lead_fields(lane: Lane) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A new consumer in ``lane``: the ping fields, the contact fields, the phone's digits."""
    n = next(_phones)
    ping = {"zip": lane.zip, "state": "FL", "age": 34, "credit": "good"}
    contact = {
        "first_name": "Ana",
        "phone": f"(305) 555-{n:04d}",
        "email": f"ana.{n}@example.com",
    }
    return ping, contact, f"305555{n:04d}"


@dataclass
class Site:
    """One database with the crash marketplace; ``pingtree serve`` started on it, killed
    and started again, one server at a time."""

    tmp_path: Path
    mock: MockBuyer
    config: dict[str, Any]
    timers: dict[str, str] = field(
        default_factory=lambda: {
            "PINGTREE_OUTBOX_LEASE_SECONDS": "0.5",
            "PINGTREE_OUTBOX_POLL_SECONDS": "0.1",
            "PINGTREE_OUTBOX_BACKOFF_SECONDS": "0.2",
        }
    )

    def __post_init__(self) -> None:
        settings = market_settings(self.tmp_path)
        self.database_url = settings.resolved_database_url()
        self.env = server_env(
            settings, SECRET, PINGTREE_OUTBOUND_ALLOW='["127.0.0.1"]', **self.timers
        )
        self.env.pop("PINGTREE_FAILPOINTS", None)
        self.points = self.tmp_path / "failpoints"
        self.env[FILE_ENV] = str(self.points)
        self.log = self.tmp_path / "servers.log"
        self.admin = {"Authorization": f"Bearer {admin_token(settings)}"}
        self.server: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(timeout=30)
        self.url = ""
        self.start()
        applied = self.http.post(
            f"{self.url}/api/v1/admin/config",
            content=yaml.safe_dump(self.config, sort_keys=False),
            headers={**self.admin, "content-type": "application/yaml"},
        )
        assert applied.status_code == 200, applied.text
        self.keys: dict[str, str] = {}
        for campaign_id in (c["id"] for c in self.config["suppliers"][0]["campaigns"]):
            made = self.http.post(
                f"{self.url}/api/v1/admin/campaigns/{campaign_id}/keys", headers=self.admin
            )
            assert made.status_code == 201, made.text
            self.keys[campaign_id] = made.json()["api_key"]
        self.stop()

    # --- servers -----------------------------------------------------------------------------

    def start(self, armed: str | None = None) -> None:
        """A server on the site's database; ``armed``: it SIGKILLs itself at that point."""
        assert self.server is None, "one server at a time"
        self._arm_file(armed)
        env = dict(self.env)
        for attempt in range(3):
            with self.log.open("a") as out:
                out.write(f"\n=== serve, armed: {armed or 'nothing'} ===\n")
            started_at = self.log.stat().st_size
            port = free_port()
            try:
                self.server = start_server(env, port, self.log)
                break
            except RuntimeError:
                # the free port was taken meanwhile (an outgoing connection's, say): another
                said = self.log.read_bytes()[started_at:]
                if b"address already in use" not in said or attempt == 2:
                    raise
        self.url = f"http://127.0.0.1:{port}"
        # a fresh pool: nothing kept alive towards a dead server
        self.http.close()
        self.http = httpx.Client(timeout=30)

    def arm(self, point: str) -> None:
        """The running server (or a new one) SIGKILLs itself when a sale reaches ``point``."""
        if self.server is None:
            self.start(armed=point)
            return
        self._arm_file(point)
        with self.log.open("a") as out:
            out.write(f"\n=== the running server armed: {point} ===\n")

    def serving(self) -> None:
        """A server, unarmed: the running one, else a new one."""
        self._arm_file(None)
        if self.server is None:
            self.start()

    def _arm_file(self, point: str | None) -> None:
        """The failpoints file names ``point`` (or nothing); replaced whole, so a server
        reading it sees the old text or the new."""
        assert point is None or point in POINTS, point
        written = self.points.with_suffix(".new")
        written.write_text(point or "")
        written.replace(self.points)

    def died(self, seconds: float) -> bool:
        """Whether the armed server killed itself (SIGKILL) within ``seconds``."""
        assert self.server is not None
        try:
            code = self.server.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        assert code == -signal.SIGKILL, f"the server exited with {code}, not by SIGKILL"
        self.server = None
        return True

    def kill(self) -> None:
        assert self.server is not None
        kill_server(self.server)
        self.server = None

    def stop(self) -> None:
        if self.server is not None:
            stop_server(self.server)
            self.server = None

    def close(self) -> None:
        self.stop()
        self.http.close()

    def settle(self, seconds: float = 60, *, keep_serving: bool = False) -> None:
        """Leave the site as a next case expects it, whatever this one left: no sale waiting
        on a post (a post of unknown outcome is resolved as delivered), and no server, or
        with ``keep_serving`` an unarmed one."""
        self.serving()
        give_up = time.monotonic() + seconds
        while time.monotonic() < give_up:
            open_sales = [
                sale
                for sale in self._admin_get("/sales", limit=500)
                if sale["status"] in ("pending", "unknown")
            ]
            if not open_sales:
                break
            for sale in open_sales:
                if sale["status"] == "unknown":
                    self.http.post(
                        f"{self.url}/api/v1/admin/sales/{sale['id']}/resolve",
                        json={"delivered": True},
                        headers=self.admin,
                    )
            time.sleep(0.2)
        if not keep_serving:
            self.stop()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    # --- the seller ------------------------------------------------------------------------

    def seller(self, campaign_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[campaign_id]}"}

    def ping(self, campaign_id: str, fields: dict[str, Any]) -> str:
        answer = self.http.post(
            f"{self.url}/api/v1/ping", json={"fields": fields}, headers=self.seller(campaign_id)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "accepted", answer.json()
        return str(answer.json()["ping_id"])

    def new_call(
        self, lane: Lane, campaign_id: str, flow: str, *, ping_stored: bool = True
    ) -> SellerCall:
        """A new lead in ``lane`` for ``campaign_id``. ``flow`` ``ping_post`` pings it now,
        and unless told otherwise waits until the ping's row is stored (it is written in the
        background; a seller's post usually comes seconds later)."""
        ping, contact, phone = lead_fields(lane)
        if flow == "ping_post":
            ping_id = self.ping(campaign_id, ping)
            if ping_stored:
                self.ping_row(ping_id)  # answers once the ping's row is in the database
            body = {"ping_id": ping_id, "fields": {**ping, **contact}}
            return SellerCall(campaign_id, "/api/v1/post", body, None, phone, ping_id)
        body = {"fields": {**ping, **contact}}
        return SellerCall(campaign_id, "/api/v1/leads", body, str(uuid.uuid4()), phone)

    def send(self, call: SellerCall, client: httpx.Client | None = None) -> dict[str, Any] | None:
        """The post's answer; ``None`` when the server died before answering."""
        headers = self.seller(call.campaign)
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        try:
            answer = (client or self.http).post(
                f"{self.url}{call.path}", json=call.body, headers=headers
            )
        except httpx.TransportError:
            return None
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def outcome(self, campaign_id: str, lead_id: str) -> dict[str, Any]:
        """``GET /api/v1/leads/{id}``: what the seller can read of the lead now."""
        answer = self.http.get(
            f"{self.url}/api/v1/leads/{lead_id}", headers=self.seller(campaign_id)
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    # --- the operator ------------------------------------------------------------------------

    def _admin_get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.url}/api/v1/admin{path}", headers=self.admin, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def lead_ids(self) -> set[str]:
        return {lead["id"] for lead in self._admin_get("/leads", limit=500)}

    def lead(self, lead_id: str) -> dict[str, Any]:
        return dict(self._admin_get(f"/leads/{lead_id}"))

    def ping_row(self, ping_id: str) -> dict[str, Any]:
        return dict(self._admin_get(f"/pings/{ping_id}"))

    def deliveries(self, lead_id: str) -> list[dict[str, Any]]:
        return list(self._admin_get(f"/leads/{lead_id}/deliveries"))

    def resolve(self, sale_id: str, delivered: bool) -> None:
        answer = self.http.post(
            f"{self.url}/api/v1/admin/sales/{sale_id}/resolve",
            json={"delivered": delivered},
            headers=self.admin,
        )
        assert answer.status_code == 200, answer.text

    def committed_use(self) -> dict[str, int]:
        """order id → the committed use of its cap (one window: ``total``), read from the
        database, the truth (on PostgreSQL the admin report reads Redis, a cache of it)."""
        return asyncio.run(_committed_use(self.database_url))

    def sales(self, status: str | Iterable[str] | None = None) -> Counter[str]:
        """order id → how many of its sales (with ``status``, or any), over the whole site."""
        wanted = {status} if isinstance(status, str) else None if status is None else set(status)
        return Counter(
            sale["order_id"]
            for sale in self._admin_get("/sales", limit=500)
            if wanted is None or sale["status"] in wanted
        )

    # --- the buyers ----------------------------------------------------------------------------

    def posts_for(self, phone: str) -> list[tuple[str, str]]:
        """(endpoint, Idempotency-Key) of every post a mock buyer received for the lead
        with ``phone``, in arrival order."""
        received = []
        for request in list(self.mock.requests):
            if request.kind != "post" or request.endpoint is None:
                continue
            if orjson.loads(request.body).get("phone") == phone:
                received.append((request.endpoint, request.headers.get("Idempotency-Key", "")))
        return received

    def set_endpoint(self, name: str, config: dict[str, Any]) -> None:
        self.mock.configure(name, EndpointConfig.model_validate(config))


async def _committed_use(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(CapUsage.scope, CapUsage.used))
            return {
                scope.removeprefix("order:"): int(used)
                for scope, used in rows
                if scope.startswith("order:")
            }
    finally:
        await engine.dispose()


def until(check: Callable[[], Any], what: str, seconds: float = 20) -> Any:
    """Poll ``check`` until it returns something true (which is returned), or fail saying
    ``what`` never happened."""
    give_up = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < give_up, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.05)
