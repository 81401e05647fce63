"""The mock buyer: one aiohttp server hosting many buyer endpoints on loopback.

``/<name>/ping`` answers with a bid and a token (the buyer's ping id); ``/<name>/post``
(or ``/<name>/post/<token>``) checks the token and accepts or rejects the lead. Every
request is recorded. Behaviour is drawn from one seeded RNG per endpoint, so a sequence of
requests gets the same answers on every run.

It is a low-level ``aiohttp.web.Server`` (no router, no middlewares, no access log) so a
single process answers thousands of requests per second for the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import socket
import struct
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from pingtree.mockbuyer.config import EndpointConfig, Misbehaviour, MockBuyerConfig, load_config
from pingtree.mockbuyer.endpoint import Endpoint, Kind
from pingtree.mockbuyer.render import (
    CONTENT_TYPES,
    DOCTYPE_XXE,
    ENTITY_BOMB,
    garbage,
    padding,
)

__all__ = ["MockBuyer", "ReceivedRequest", "run_mockbuyer", "serve_mockbuyer"]

logger = logging.getLogger(__name__)

#: how long a stopping server waits for handlers still sleeping before it cancels them
_SHUTDOWN_TIMEOUT = 0.5


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as it reached the mock buyer, body complete."""

    #: the endpoint named in the path; ``None`` when no endpoint has that name
    endpoint: str | None
    #: ``None`` for a path that is neither a ping nor a post
    kind: Kind | None
    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    #: ``time.time()`` when the body had been read
    received_at: float
    #: serial number of the TCP connection it came on (1 = the first accepted)
    connection: int


class MockBuyer:
    """An async context manager serving ``endpoints`` on ``host:port`` (0 = any free port)."""

    def __init__(
        self,
        endpoints: Mapping[str, EndpointConfig],
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        *,
        record: bool = True,
    ) -> None:
        self._host = host
        self._port = port
        self._seed = seed
        self._record = record
        self._endpoints: dict[str, Endpoint] = {}
        for name, config in endpoints.items():
            self.configure(name, config)
        #: every request received, in arrival order (empty when ``record=False``)
        self.requests: list[ReceivedRequest] = []
        self._runner: web.ServerRunner | None = None
        self._server: _CountingServer | None = None
        self._closing = asyncio.Event()
        self._accepted_before_reset = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> MockBuyer:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.create_server((self._host, self._port), family=family, backlog=2048)
        self._port = sock.getsockname()[1]
        self._closing = asyncio.Event()
        self._accepted_before_reset = 0
        self._server = _CountingServer(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(self._server, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        try:
            await self._runner.setup()
            await web.SockSite(self._runner, sock, backlog=2048).start()
        except BaseException:
            sock.close()
            await self._runner.cleanup()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # hanging handlers drop their connections now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- accessors ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def ping_url(self, name: str) -> str:
        return f"{self.url}/{name}/ping"

    def post_url(self, name: str) -> str:
        return f"{self.url}/{name}/post"

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start (or the last ``reset``)."""
        accepted = self._server.accepted if self._server is not None else 0
        return accepted - self._accepted_before_reset

    def requests_to(self, name: str, kind: Kind | None = None) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.endpoint == name and kind in (None, r.kind)]

    def tokens(self, name: str) -> list[str]:
        """The tokens (buyer ping ids) ``name`` has issued and still remembers."""
        return list(self._endpoints[name].tokens)

    def reset(self) -> None:
        """Forget the recorded requests and restart ``connections_accepted``; configs and
        tokens stay."""
        self.requests.clear()
        # connection numbers keep counting, so an older live connection is never confused
        # with a new one
        if self._server is not None:
            self._accepted_before_reset = self._server.accepted

    def configure(self, name: str, config: EndpointConfig) -> None:
        """Add an endpoint or change its behaviour live; its issued tokens stay valid and
        its RNG restarts from the seed."""
        if not name or "/" in name:
            raise ValueError(f"endpoint name {name!r} must be non-empty without '/'")
        old = self._endpoints.get(name)
        seed = config.seed if config.seed is not None else f"{self._seed}:{name}"
        self._endpoints[name] = Endpoint(config, seed, old.tokens if old else OrderedDict())

    # -- the handler ----------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        parts = request.path.split("/")
        kind: Kind | None = None
        if len(parts) == 3 and parts[2] in ("ping", "post"):
            kind = "ping" if parts[2] == "ping" else "post"
        elif len(parts) == 4 and parts[2] == "post":
            kind = "post"
        name = parts[1] if len(parts) > 1 else ""
        endpoint = self._endpoints.get(name) if kind else None
        if self._record:
            server = self._server
            self.requests.append(
                ReceivedRequest(
                    endpoint=name if name in self._endpoints else None,
                    kind=kind,
                    method=request.method,
                    path=request.path,
                    query_string=request.query_string,
                    headers=request.headers,
                    body=body,
                    received_at=time.time(),
                    connection=server.ids.get(request.protocol, 0) if server else 0,
                )
            )
        if endpoint is None or kind is None:
            return web.Response(status=404, text="no such endpoint")

        fault = endpoint.fault(kind)
        delay = endpoint.delay()
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind != "slow_drip":
            return await self._misbehave(request, endpoint, fault)

        if kind == "ping":
            status, answer = endpoint.ping()
        else:
            token = parts[3] if len(parts) == 4 else None
            status, answer = endpoint.post(request, body, token)
        payload = endpoint.render(answer)
        headers = {"Content-Type": endpoint.content_type}
        if endpoint.config.gzip:
            payload = gzip.compress(payload, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        if fault is not None and fault.kind == "slow_drip":
            return await _drip(
                request, status, headers, payload, fault.interval_ms, fault.chunk_bytes
            )
        return web.Response(status=status, body=payload, headers=headers)

    async def _misbehave(
        self, request: web.BaseRequest, endpoint: Endpoint, fault: Misbehaviour
    ) -> web.StreamResponse:
        if fault.kind == "hang":
            # never answers; ends when the client goes (handler cancellation) or we stop
            await self._closing.wait()
            _abort(request, rst=False)
            return web.Response()
        if fault.kind == "reset":
            _abort(request, rst=True)
            return web.Response()  # its write fails quietly: the transport is gone
        if fault.kind == "garbage":
            fmt = endpoint.config.format
            return web.Response(body=garbage(fmt), headers={"Content-Type": CONTENT_TYPES[fmt]})
        if fault.kind == "entity_bomb":
            return web.Response(body=ENTITY_BOMB, headers={"Content-Type": "application/xml"})
        if fault.kind == "doctype":
            return web.Response(body=DOCTYPE_XXE, headers={"Content-Type": "application/xml"})
        if fault.kind == "error":
            return web.Response(status=fault.status, text=fault.body)
        if fault.kind == "redirect":
            return web.Response(status=fault.status, headers={"Location": fault.location})
        if fault.kind == "huge":
            return await _stream_huge(
                request, fault.bytes, fault.declare_length, endpoint.config.gzip
            )
        raise AssertionError(f"unhandled misbehaviour {fault.kind}")  # pragma: no cover


class _CountingServer(web.Server):
    """Numbers the TCP connections, so tests can see keep-alive at work."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.accepted = 0
        self.ids: dict[RequestHandler, int] = {}

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self.accepted += 1
        self.ids[handler] = self.accepted

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        self.ids.pop(handler, None)
        super().connection_lost(handler, exc)


def _abort(request: web.BaseRequest, *, rst: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if rst:
        # SO_LINGER 0: close() sends RST instead of FIN, like a crashed or hostile server
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _drip(
    request: web.BaseRequest,
    status: int,
    headers: dict[str, str],
    payload: bytes,
    interval_ms: float,
    chunk: int,
) -> web.StreamResponse:
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = len(payload)
    try:
        await response.prepare(request)
        for start in range(0, len(payload), chunk):
            await response.write(payload[start : start + chunk])
            await asyncio.sleep(interval_ms / 1000)
        await response.write_eof()
    except ConnectionError:
        pass  # the client gave up: that is the point
    return response


async def _stream_huge(
    request: web.BaseRequest, size: int, declare_length: bool, compress: bool
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if compress:
        # a gzip bomb: megabytes of padding in a few kilobytes on the wire
        response.headers["Content-Encoding"] = "gzip"
    elif declare_length:
        response.content_length = size
    try:
        await response.prepare(request)
        if compress:
            encoder = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            for piece in padding(size):
                if out := encoder.compress(piece):
                    await response.write(out)
            await response.write(encoder.flush())
        else:
            for piece in padding(size):
                await response.write(piece)
        await response.write_eof()
    except ConnectionError:
        pass  # the client stopped reading, as it should
    return response


async def serve_mockbuyer(
    config: str | Path | Mapping[str, Any] | MockBuyerConfig,
    host: str = "127.0.0.1",
    port: int = 8099,
    *,
    on_ready: Callable[[MockBuyer], None] | None = None,
) -> None:
    """Serve the endpoints of ``config`` (a YAML/JSON path or a mapping, see
    ``load_config``) until cancelled. Requests are not recorded."""
    loaded = load_config(config)
    buyer = MockBuyer(loaded.endpoints, host=host, port=port, seed=loaded.seed, record=False)
    async with buyer:
        logger.info("mock buyer on %s: %s", buyer.url, ", ".join(loaded.endpoints))
        if on_ready is not None:
            on_ready(buyer)
        await asyncio.Event().wait()


def run_mockbuyer(
    config: str | Path | Mapping[str, Any] | MockBuyerConfig,
    host: str = "127.0.0.1",
    port: int = 8099,
    *,
    on_ready: Callable[[MockBuyer], None] | None = None,
) -> None:
    """``serve_mockbuyer`` on uvloop when it is installed, until Ctrl-C."""
    try:
        import uvloop

        runner: Callable[[Any], None] = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve_mockbuyer(config, host, port, on_ready=on_ready))
