"""The one pooled HTTP client, and ``send``: the only function in ``delivery`` doing I/O.

Errors: ``SendError`` (from ``connection``), whose ``kind`` says what went wrong and
``sent`` whether a re-send could duplicate the lead: ``connect`` never sent anything (refused,
DNS, TLS, a bad URL, an address the guard refuses), ``reset`` always may have; a
``timeout`` is ``sent=False`` only when it struck before the request had a connection
(still connecting, or waiting for a pooled one).

The pool keeps connections alive per scheme, host and port, at most ``limit`` in all and
``limit_per_host`` to one host; a request waits inside its own timeout for a free one.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import quote, urlsplit

from multidict import CIMultiDict, CIMultiDictProxy

from pingtree.delivery.addresses import AddressGuard, is_ip_literal
from pingtree.delivery.connection import BuyerConnection, SendError, SendErrorKind

__all__ = [
    "AddressGuard",
    "BuyerClient",
    "RawResponse",
    "SendError",
    "SendErrorKind",
    "create_client",
    "send",
]

#: below the 5 s idle timeout of Apache, Node and uvicorn: we drop an idle connection before
#: the buyer does, so a post never goes out on a socket the buyer is closing (that would
#: read as a reset: an unknown outcome)
_KEEPALIVE_SECONDS = 4.0
_DNS_TTL_SECONDS = 60.0
#: literal hosts whose verdict is remembered (buyers are few; a bound against the odd spec)
_MAX_REMEMBERED_HOSTS = 4096
#: request heads remembered per client (a URL holding lead values is seldom seen twice)
_MAX_REMEMBERED_HEADS = 1024
_DEFAULT_HEADERS = (("User-Agent", "pingtree"), ("Accept", "*/*"), ("Accept-Encoding", "gzip"))
#: set by ``send`` itself, whatever a step's headers say
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")
#: what may stay as it is in a request target; anything else is percent-encoded
_TARGET_SAFE = "/?&=%:@!$'()*+,;~-._[]"
_NEEDS_QUOTING = re.compile(r"[^\x21-\x7e]")


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    #: case-insensitive
    headers: Mapping[str, str]
    #: at most ``max_response_bytes``, decompressed
    body: bytes
    #: from the call of ``send`` to the last body byte
    elapsed_ms: int


def create_client(
    limit: int = 512,
    limit_per_host: int = 128,
    *,
    allow: Iterable[str] = (),
    tls: ssl.SSLContext | None = None,
) -> BuyerClient:
    """The process's one client. Use it inside the running loop; close it at shutdown.

    ``limit`` must stay above the peak number of requests in flight (the fan-out of every
    concurrent ping), or requests queue for a connection inside their own timeout.

    Buyers live on the public internet: a host on a loopback, private, link-local or
    otherwise non-public address is refused (``SendError("connect")``, nothing sent) —
    whether the URL names the address or a name resolves to it — unless an ``allow``
    entry (an address or a network such as ``10.1.0.0/16``) covers it (DESIGN §8.6).

    ``https`` buyers are verified against ``tls`` (default: the system's trusted CAs).
    """
    return BuyerClient(AddressGuard(allow), limit=limit, limit_per_host=limit_per_host, tls=tls)


#: a pool's key: scheme, host, port
_Key = tuple[str, str, int]


class BuyerClient:
    """Keep-alive connections to buyers, pooled per scheme, host and port (see ``send``)."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        limit: int,
        limit_per_host: int,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.guard = guard
        self.limit = limit
        self.limit_per_host = limit_per_host
        self._idle: dict[_Key, list[BuyerConnection]] = {}
        #: connections open or opening, in all and per key
        self._total = 0
        self._open: dict[_Key, int] = {}
        self._live: set[BuyerConnection] = set()
        #: requests waiting for room, per key
        self._waiters: dict[_Key, deque[asyncio.Future[None]]] = {}
        self._addresses: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._tls = tls
        self._heads: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[_Key, str]] = {}
        self._last_sweep = 0.0
        self.closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every idle connection; one in use closes when its exchange ends."""
        self.closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        for waiters in self._waiters.values():
            while _wake_one(waiters):
                pass
        await asyncio.sleep(0)  # the transports finish closing

    def request_bytes(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> tuple[_Key, bytes]:
        """The pool's key for ``url``, and the request, ready to write (``SendError`` for a
        bad URL or header). Heads are remembered: most pings repeat their buyer's."""
        remembered = (method, url, tuple(headers))
        known = self._heads.get(remembered)
        if known is None:
            known = _head(method, url, headers)
            if len(self._heads) >= _MAX_REMEMBERED_HEADS:
                self._heads.clear()
            self._heads[remembered] = known
        key, head = known
        if body or method != "GET":
            head = f"{head}Content-Length: {len(body)}\r\n"
        return key, f"{head}\r\n".encode() + body

    async def acquire(self, key: _Key) -> BuyerConnection:
        """A connection to ``key``: an idle one, a new one, or the next one freed."""
        while True:
            if self.closed:
                raise SendError("connect", "the client is closed", sent=False)
            idle = self._idle.get(key)
            if idle:
                now = time.monotonic()
                while idle:
                    connection = idle.pop()
                    if _still_good(connection, now):
                        return connection
                    self._drop(key, connection)
            if self._total < self.limit and self._open.get(key, 0) < self.limit_per_host:
                return await self._connect(key)
            if self._total >= self.limit and self._drop_one_idle():
                continue
            await self._wait_for_room(key)

    def release(self, key: _Key, connection: BuyerConnection, *, reusable: bool) -> None:
        if reusable and connection.usable and not self.closed:
            now = time.monotonic()
            connection.idle_since = now
            self._idle.setdefault(key, []).append(connection)
            self._wake(key)
            if now - self._last_sweep > 1.0:
                self._sweep(now)
        else:
            self._drop(key, connection)

    async def _connect(self, key: _Key) -> BuyerConnection:
        _, host, port = key
        self._total += 1
        self._open[key] = self._open.get(key, 0) + 1
        connection: BuyerConnection | None = None
        try:
            self.guard.check_literal_host(host)
            addresses = [host] if is_ip_literal(host) else await self._resolve(host, port)
            connection = await self._open_connection(key, addresses)
            self._live.add(connection)
            return connection
        finally:
            if connection is None:
                self._total -= 1
                self._open[key] -= 1
                self._wake(key)

    async def _open_connection(self, key: _Key, addresses: list[str]) -> BuyerConnection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if scheme == "https" else None
        failures: list[str] = []
        for address in addresses:
            try:
                _, connection = await loop.create_connection(
                    lambda: BuyerConnection(lambda lost: self._forget(key, lost)),
                    address,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
            except OSError as exc:  # refused, unreachable, TLS (SSLError is an OSError)
                failures.append(f"{address}: {exc}")
            else:
                return connection
        said = "; ".join(failures)
        raise SendError("connect", f"cannot connect to {host} port {port} ({said})", sent=False)

    async def _resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` that the guard permits, remembered for a minute."""
        now = time.monotonic()
        known = self._addresses.get((host, port))
        if known is not None and known[0] > now:
            return known[1]
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise SendError("connect", f"cannot resolve {host} ({exc})", sent=False) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        kept = [address for address in addresses if self.guard.permits(address)]
        if not kept:
            raise SendError("connect", f"{host} resolves to no public address", sent=False)
        if len(self._addresses) >= _MAX_REMEMBERED_HOSTS:
            self._addresses.clear()
        self._addresses[(host, port)] = (now + _DNS_TTL_SECONDS, kept)
        return kept

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _drop(self, key: _Key, connection: BuyerConnection) -> None:
        connection.close()
        self._forget(key, connection)

    def _forget(self, key: _Key, connection: BuyerConnection) -> None:
        """Called once a connection is closed, by us or by the buyer (idempotent)."""
        if connection in self._live:
            self._live.discard(connection)
            self._total -= 1
            self._open[key] -= 1
            self._wake(key)

    def _drop_one_idle(self) -> bool:
        for key, idle in self._idle.items():
            if idle:
                self._drop(key, idle.pop(0))  # the longest idle
                return True
        return False

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        for key, idle in self._idle.items():
            stale = [c for c in idle if not _still_good(c, now)]
            for connection in stale:
                idle.remove(connection)
                self._drop(key, connection)

    async def _wait_for_room(self, key: _Key) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, deque()).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake(key)  # woken, then cancelled: the room goes to the next in line
            raise

    def _wake(self, key: _Key) -> None:
        """Room was made at ``key`` (a connection idle or closed there): a request waiting
        for that host first, else any (at the bound in all, it can close the idle one)."""
        if _wake_one(self._waiters.get(key)):
            return
        for waiters in self._waiters.values():
            if _wake_one(waiters):
                return


def _still_good(connection: BuyerConnection, now: float) -> bool:
    """An idle connection may carry a request: open, and not idle long enough for the
    buyer to be closing it."""
    return connection.usable and now - connection.idle_since < _KEEPALIVE_SECONDS


def _wake_one(waiters: deque[asyncio.Future[None]] | None) -> bool:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return True
    return False


async def send(
    client: BuyerClient,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    timeout: float,  # noqa: ASYNC109 (the budget is data: each step carries its own)
    max_response_bytes: int = 256 * 1024,
) -> RawResponse:
    """Send one request and read its whole answer, within ``timeout`` seconds in all.

    Redirects are returned, not followed. The body is read as it arrives and counted after
    decompression; past ``max_response_bytes`` the connection is dropped. Any status is a
    response (reading it is the caller's job). Network trouble raises ``SendError`` only:
    ``connect`` (refused, DNS, TLS, bad URL or header: nothing sent), ``timeout``, ``reset``
    (the connection broke after sending), ``too_large``, ``protocol`` (not valid HTTP, a
    corrupt encoding). Cancellation propagates unchanged.
    """
    started = time.monotonic()
    key, request = client.request_bytes(method, url, headers, body)
    connection: BuyerConnection | None = None
    reusable = False
    try:
        async with asyncio.timeout(timeout):
            connection = await client.acquire(key)
            answer = await connection.exchange(request, max_response_bytes)
            reusable = answer.keep_alive
    except TimeoutError as exc:
        # from a connection on, the request may have left
        sent = connection is not None
        raise SendError("timeout", f"no complete answer in {timeout:g} s", sent=sent) from exc
    finally:
        if connection is not None:
            client.release(key, connection, reusable=reusable)
    decoded = CIMultiDict(
        (name.decode("latin-1"), value.decode("utf-8", "replace")) for name, value in answer.headers
    )
    return RawResponse(
        status=answer.status,
        headers=CIMultiDictProxy(decoded),
        body=answer.body,
        elapsed_ms=round((time.monotonic() - started) * 1000),
    )


def _head(method: str, url: str, headers: Sequence[tuple[str, str]]) -> tuple[_Key, str]:
    """The pool's key for ``url``, and the request's head up to its framing (each line
    ended by CRLF; ``Content-Length`` and the blank line come with the body)."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname or ""
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise SendError("connect", f"invalid URL ({exc})", sent=False) from exc
    scheme = parts.scheme
    if scheme not in ("http", "https") or not host:
        raise SendError("connect", "invalid URL: not http(s) with a host", sent=False)
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    authority = f"[{host}]" if ":" in host else host
    if port != default_port:
        authority = f"{authority}:{port}"
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    if _NEEDS_QUOTING.search(target):
        target = quote(target, safe=_TARGET_SAFE)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
    given: set[str] = set()
    for name, value in headers:
        lowered = name.lower()
        if lowered in _OWN_HEADERS:
            continue
        if not _TOKEN.fullmatch(name) or _UNSAFE_VALUE.search(value):
            raise SendError("connect", f"header {name!r} is not a valid header", sent=False)
        given.add(lowered)
        lines.append(f"{name}: {value}")
    for name, value in _DEFAULT_HEADERS:
        if name.lower() not in given:
            lines.append(f"{name}: {value}")
    lines.append("")
    return (scheme, host, port), "\r\n".join(lines)
