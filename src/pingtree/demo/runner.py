"""``pingtree demo``: mock buyers, pingtree and synthetic traffic in one process and one loop.

start the mock buyers on 127.0.0.1 → migrate the embedded SQLite database and apply the demo
marketplace pointing at them → create the admin user, an admin token and a key per campaign
→ serve pingtree (uvicorn) → hand the access details to ``on_ready`` → send traffic → on
SIGINT or SIGTERM stop the traffic, then pingtree, then the mock buyers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import secrets
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from pingtree.api.app import create_app
from pingtree.bootstrap import Runtime
from pingtree.config.apply import apply_config
from pingtree.config.errors import ConfigError
from pingtree.demo.leads import LeadFactory
from pingtree.demo.market import CAMPAIGNS, demo_document, mock_buyer_config
from pingtree.demo.traffic import Traffic
from pingtree.mockbuyer import MockBuyer
from pingtree.settings import Settings
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.secrets import ApiKeyRepository, load_server_key
from pingtree.store.users import UserExists, UserRepository

__all__ = ["ADMIN_USER", "DemoAccess", "DemoError", "DemoOptions", "run_demo"]

ADMIN_USER = "admin"
_TALLY_SECONDS = 15.0
_START_TIMEOUT_SECONDS = 60.0
#: open requests get this long to finish when the demo stops: as long as a request may
#: wait for SQLite's write lock (its busy timeout), so none is cut off mid-transaction
_STOP_TIMEOUT_SECONDS = 30
#: hosts on which a server is reachable at 127.0.0.1, where the demo traffic goes
_LOOPBACK_REACHABLE = frozenset({"127.0.0.1", "0.0.0.0"})


class DemoError(Exception):
    """The demo cannot start: a busy port, a refused option. The message says which."""


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    #: ``None``: a temporary directory, deleted on exit
    data_dir: Path | None = None
    #: synthetic leads a second; 0 sends none
    traffic: float = 1.0
    #: the admin user's password; ``None``: a random one
    password: str | None = None


@dataclass(frozen=True)
class DemoAccess:
    """What a newcomer needs to use the running demo (printed once at start)."""

    base_url: str
    mock_buyer_url: str
    data_dir: Path
    temporary: bool
    username: str
    password: str
    admin_token: str
    #: campaign id → its API key, in the order of ``CAMPAIGNS``
    campaign_keys: dict[str, str]
    traffic: float


async def run_demo(
    options: DemoOptions,
    on_ready: Callable[[DemoAccess], None],
    on_tally: Callable[[str], None],
) -> None:
    """Run the demo until SIGINT or SIGTERM, then stop everything and return.

    Raises :class:`DemoError` when it cannot start.
    """
    if options.traffic > 0 and options.host not in _LOOPBACK_REACHABLE:
        raise DemoError(
            "demo traffic goes to 127.0.0.1 only: serve on 127.0.0.1 or 0.0.0.0, "
            "or turn the traffic off with --traffic 0"
        )
    stop = asyncio.Event()
    with _stopped_by_signals(stop), _listening(options.host, options.port) as sock:
        port = sock.getsockname()[1]
        with _data_dir(options.data_dir) as (data_dir, temporary):
            settings = Settings(
                data_dir=data_dir,
                database_url=None,  # the demo runs on embedded SQLite, whatever the environment
                redis_url=None,
                host=options.host,
                port=port,
                outbound_allow=["127.0.0.1"],
                migrate_on_start=False,
            )
            config = mock_buyer_config()
            buyers = MockBuyer(config.endpoints, seed=config.seed, record=False)
            async with buyers:
                password = options.password or secrets.token_urlsafe(12)
                admin_token, keys = await _prepare(settings, buyers.url, password)
                app = create_app(settings)
                server = _Server(
                    uvicorn.Config(
                        app,
                        log_level="warning",
                        access_log=False,
                        lifespan="on",
                        timeout_graceful_shutdown=_STOP_TIMEOUT_SECONDS,
                    )
                )
                serving = asyncio.create_task(server.serve(sockets=[sock]))
                try:
                    await _started(server, serving)
                    on_ready(
                        DemoAccess(
                            base_url=f"http://{_display_host(options.host)}:{port}",
                            mock_buyer_url=buyers.url,
                            data_dir=data_dir,
                            temporary=temporary,
                            username=ADMIN_USER,
                            password=password,
                            admin_token=admin_token,
                            campaign_keys=keys,
                            traffic=options.traffic,
                        )
                    )
                    await _send_traffic_until(stop, serving, options.traffic, port, keys, on_tally)
                finally:
                    runtime: Runtime | None = getattr(app.state, "runtime", None)
                    if runtime is not None:  # sellers waiting on a delivery: answer them now
                        runtime.outbox.answer_waiting()
                    server.should_exit = True
                    await asyncio.gather(serving, return_exceptions=True)


async def _prepare(
    settings: Settings, mock_buyer_url: str, password: str
) -> tuple[str, dict[str, str]]:
    """Apply the demo marketplace; create the admin user and the keys: the admin token and
    the campaign keys."""
    url = settings.resolved_database_url()
    await migrate(url)
    engine = create_engine(url)
    now = dt.datetime.now(dt.UTC)
    server_key = load_server_key(settings.secret_key, settings.data_dir)
    try:
        sessions = session_factory(engine)
        try:
            await apply_config(sessions, demo_document(mock_buyer_url), now)
        except ConfigError as exc:
            issues = "; ".join(f"{issue.path}: {issue.msg}" for issue in exc.issues)
            raise DemoError(f"the demo configuration does not apply here: {issues}") from None
        async with sessions.begin() as session:
            users = UserRepository(session)
            try:
                # in a savepoint: the refused insert of a data directory used before must
                # not end the transaction
                async with session.begin_nested():
                    await users.create(ADMIN_USER, password, "admin", now)
            except UserExists:  # a data directory used before keeps its data
                await users.set_password(ADMIN_USER, password)
            except ValueError as exc:
                raise DemoError(f"--password: {exc}") from None
            api_keys = ApiKeyRepository(session)
            admin_token = await api_keys.create("admin", None, "demo", server_key, now)
            keys = {
                campaign.id: await api_keys.create("campaign", campaign.id, "demo", server_key, now)
                for campaign in CAMPAIGNS
            }
        return admin_token, keys
    finally:
        await engine.dispose()


async def _send_traffic_until(
    stop: asyncio.Event,
    serving: asyncio.Task[None],
    rate: float,
    port: int,
    keys: dict[str, str],
    on_tally: Callable[[str], None],
) -> None:
    """Send traffic (none when ``rate`` is 0) until ``stop`` is set or the server ends."""
    stopped = asyncio.create_task(stop.wait())
    tasks: list[asyncio.Task[None]] = []
    if rate > 0:
        rng = random.Random()
        factory = LeadFactory(rng, dt.datetime.now(dt.UTC).date())
        traffic = Traffic(f"http://127.0.0.1:{port}", keys, rate, factory, rng)
        tasks = [
            asyncio.create_task(traffic.run()),
            asyncio.create_task(_report(traffic, on_tally)),
        ]
    try:
        await asyncio.wait([stopped, serving, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stopped, *tasks):
            task.cancel()
        await asyncio.gather(stopped, *tasks, return_exceptions=True)
    if not stop.is_set():
        raise DemoError("pingtree stopped unexpectedly (see the log above)")


async def _report(traffic: Traffic, on_tally: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(_TALLY_SECONDS)
        if traffic.tally:
            on_tally(f"traffic so far: {traffic.summary()}")


async def _started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    """Wait until the server answers (its lifespan has run), or fail if it ended."""
    deadline = asyncio.get_running_loop().time() + _START_TIMEOUT_SECONDS
    while not server.started:
        if serving.done():
            raise DemoError("pingtree stopped while starting (see the log above)")
        if asyncio.get_running_loop().time() > deadline:
            raise DemoError(f"pingtree did not start within {_START_TIMEOUT_SECONDS:g} s")
        await asyncio.sleep(0.02)


class _Server(uvicorn.Server):
    """uvicorn leaving the signals to the demo, which stops its other parts first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


@contextlib.contextmanager
def _listening(host: str, port: int) -> Iterator[socket.socket]:
    """The server's socket, bound before anything starts so a busy port fails first."""
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise DemoError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    with sock:
        yield sock


@contextlib.contextmanager
def _data_dir(given: Path | None) -> Iterator[tuple[Path, bool]]:
    """The given data directory, or a temporary one removed afterwards; and which it is."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given.resolve(), False
        return
    with tempfile.TemporaryDirectory(prefix="pingtree-demo-", ignore_cleanup_errors=True) as tmp:
        yield Path(tmp), True


def _display_host(host: str) -> str:
    return "127.0.0.1" if host == "0.0.0.0" else host
