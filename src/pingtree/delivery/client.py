"""The one pooled HTTP client, and ``send``: the only function in ``delivery`` doing I/O.

Errors::

    Exception
     └── SendError   .kind: "connect" | "timeout" | "reset" | "too_large" | "protocol"
                     .sent: whether any byte of the request may have left

``kind`` says what went wrong; ``sent`` says whether a re-send could duplicate the lead:
``connect`` never sent anything, ``reset`` always may have; a ``timeout`` is ``sent=False``
only when it struck before the request had a connection (still connecting, or waiting for
a pooled one), which the connector of ``create_client`` observes. No aiohttp tracing: it
costs every request of every ping a dozen awaited signals.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import Connection
from aiohttp.resolver import DefaultResolver

__all__ = ["AddressGuard", "RawResponse", "SendError", "SendErrorKind", "create_client", "send"]

SendErrorKind = Literal["connect", "timeout", "reset", "too_large", "protocol"]

#: below the 5 s idle timeout of Apache, Node and uvicorn: we drop an idle connection before
#: the buyer does, so a post never goes out on a socket the buyer is closing (that would
#: read as a reset: an unknown outcome)
_KEEPALIVE_SECONDS = 4.0
_DNS_TTL_SECONDS = 60
#: literal hosts whose verdict is remembered (buyers are few; a bound against the odd spec)
_MAX_REMEMBERED_HOSTS = 4096
#: aiohttp warns that enable_cleanup_closed is useless on Pythons with CPython #118960 fixed
_NEEDS_CLEANUP_CLOSED = sys.version_info < (3, 12, 8) or (3, 13) <= sys.version_info < (3, 13, 1)
#: ``send`` bounds the exchange itself; aiohttp's own timeouts stay out of the way
_NO_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    #: at most ``max_response_bytes``, decompressed
    body: bytes
    #: from the call of ``send`` to the last body byte
    elapsed_ms: int


class SendError(Exception):
    """The exchange failed; see the module docstring for ``kind`` and ``sent``."""

    def __init__(self, kind: SendErrorKind, message: str, *, sent: bool) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind: SendErrorKind = kind
        self.sent = sent


def create_client(
    limit: int = 512, limit_per_host: int = 128, *, allow: Iterable[str] = ()
) -> aiohttp.ClientSession:
    """The process's one session. Call it inside the running loop; close it at shutdown.

    ``limit`` must stay above the peak number of requests in flight (the fan-out of every
    concurrent ping), or requests queue for a connection inside their own timeout.

    Buyers live on the public internet: a host on a loopback, private, link-local or
    otherwise non-public address is refused (``SendError("connect")``, nothing sent) —
    whether the URL names the address or a name resolves to it — unless an ``allow``
    entry (an address or a network such as ``10.1.0.0/16``) covers it (DESIGN §8.6).
    """
    guard = AddressGuard(allow)
    connector = _GuardedConnector(
        guard,
        limit=limit,
        limit_per_host=limit_per_host,
        ttl_dns_cache=_DNS_TTL_SECONDS,
        keepalive_timeout=_KEEPALIVE_SECONDS,
        enable_cleanup_closed=_NEEDS_CLEANUP_CLOSED,
        resolver=_GuardedResolver(guard),
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        timeout=_NO_TIMEOUT,
        headers={"User-Agent": "pingtree"},
    )


class AddressGuard:
    """Which buyer addresses may be called: public ones, and those ``allow`` lists."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._allowed = tuple(ipaddress.ip_network(entry, strict=False) for entry in allow)
        #: a literal host → whether it may be called (every request checks its host)
        self._literal_verdicts: dict[str, bool] = {}

    def permits(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in self._allowed):
            return True
        return ip.is_global and not ip.is_multicast

    def check_literal_host(self, host: str) -> None:
        """Refuse (``SendError("connect")``) a host that is a non-permitted address: a URL
        naming an address skips the resolver, so it is checked before anything is sent."""
        host = host.strip("[]")
        permitted = self._literal_verdicts.get(host)
        if permitted is None:
            permitted = not _is_ip(host) or self.permits(host)
            if len(self._literal_verdicts) < _MAX_REMEMBERED_HOSTS:
                self._literal_verdicts[host] = permitted
        if not permitted:
            raise SendError("connect", f"{host} is not a public address", sent=False)


class _GuardedConnector(aiohttp.TCPConnector):
    """The pool: checks a literal host before connecting, and marks the exchange that
    ``send`` is making in this task as sent once it has a connection (the request goes out
    right after; from then on a re-send could duplicate it)."""

    def __init__(self, guard: AddressGuard, **options: Any) -> None:
        super().__init__(**options)
        self._guard = guard

    async def connect(
        self,
        req: aiohttp.ClientRequest,
        traces: list[Any],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 (aiohttp's own signature)
    ) -> Connection:
        self._guard.check_literal_host(req.url.host or "")
        connection = await super().connect(req, traces, timeout)
        progress = _EXCHANGE.get()
        if progress is not None:
            progress.sent = True
        return connection


class _GuardedResolver(AbstractResolver):
    """The default resolver, keeping only the addresses the guard permits."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        kept = [result for result in found if self._guard.permits(result["host"])]
        if not kept:
            raise OSError(f"{host} resolves to no public address")
        return kept

    async def close(self) -> None:
        await self._inner.close()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class _Progress:
    """How far one exchange got: ``sent`` once it had a connection."""

    __slots__ = ("sent",)

    def __init__(self, *, sent: bool) -> None:
        self.sent = sent


#: the exchange ``send`` is making in the current task (aiohttp connects in the caller's task)
_EXCHANGE: ContextVar[_Progress | None] = ContextVar("buyer_exchange", default=None)


async def send(
    client: aiohttp.ClientSession,
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
    ``connect`` (refused, DNS, TLS, bad URL: nothing sent), ``timeout``, ``reset`` (the
    connection broke after sending), ``too_large``, ``protocol`` (not valid HTTP, a
    corrupt encoding). Cancellation propagates unchanged.
    """
    # a session of another connector is not ours to watch: assume the worst, it left
    progress = _Progress(sent=not isinstance(client.connector, _GuardedConnector))
    watched = _EXCHANGE.set(progress)
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            async with client.request(
                method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=_NO_TIMEOUT,
            ) as response:
                data = await _read_bounded(response, max_response_bytes)
                return RawResponse(
                    status=response.status,
                    headers=response.headers,
                    body=data,
                    elapsed_ms=round((time.monotonic() - started) * 1000),
                )
    except SendError:
        raise
    except TimeoutError as exc:
        # asyncio's own timeout; aiohttp's are off, so none of its timeout errors arrive
        raise SendError(
            "timeout", f"no complete answer in {timeout:g} s", sent=progress.sent
        ) from exc
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise SendError("connect", f"invalid URL: {exc}", sent=False) from exc
    except aiohttp.ClientConnectorError as exc:
        raise SendError("connect", str(exc), sent=False) from exc
    except aiohttp.ClientPayloadError as exc:
        # a body cut short by the connection closing is a reset; else a broken encoding
        if "not completed" in str(exc):
            raise SendError("reset", str(exc), sent=True) from exc
        raise SendError("protocol", str(exc), sent=True) from exc
    except aiohttp.ClientResponseError as exc:
        raise SendError("protocol", f"invalid HTTP response: {exc.message}", sent=True) from exc
    except (aiohttp.ClientConnectionError, OSError) as exc:
        # ServerDisconnectedError, ClientOSError (ECONNRESET, EPIPE), a closed connection
        kind: SendErrorKind = "reset" if progress.sent else "connect"
        raise SendError(kind, str(exc) or type(exc).__name__, sent=progress.sent) from exc
    except aiohttp.ClientError as exc:
        raise SendError("protocol", str(exc) or type(exc).__name__, sent=progress.sent) from exc
    finally:
        _EXCHANGE.reset(watched)


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    declared = response.content_length
    if declared is not None and not response.headers.get("Content-Encoding"):
        if declared > limit:
            response.close()
            raise SendError("too_large", f"Content-Length {declared} > {limit} bytes", sent=True)
        # a plain body of a known, allowed size (most answers): aiohttp reads exactly that
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    # iter_any hands over what has arrived, already decompressed; aiohttp inflates in
    # bounded steps, so a gzip bomb never materializes beyond one read buffer
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            response.close()  # drop the connection rather than drain the rest
            raise SendError("too_large", f"body over {limit} bytes", sent=True)
        chunks.append(chunk)
    return b"".join(chunks)
