"""One HTTP/1.1 connection to a buyer: writes a request, reads its answer, bounded.

An ``asyncio.Protocol`` fed to httptools' response parser (llhttp, the parser uvicorn
runs). It replaced aiohttp's client under ``send``: a ping asks every bid buyer at once,
and aiohttp spent about 175 µs of CPU per buyer request where this spends under 50
(measured with fan-outs of ten on loopback; see bench/README.md).

Errors::

    Exception
     └── SendError   .kind: "connect" | "timeout" | "reset" | "too_large" | "protocol"
                     .sent: whether any byte of the request may have left

``exchange`` refuses a connection the buyer already closed (``connect``, nothing sent);
once it wrote, the request may have left, so every error after says ``sent=True``:
``reset`` (the connection closed before the answer was complete), ``too_large`` (the body,
counted after decompression, passed the limit; the connection is dropped rather than
drained), ``protocol`` (not valid HTTP, a corrupt encoding).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Literal, cast

import httptools

__all__ = ["Answer", "BuyerConnection", "SendError", "SendErrorKind"]

SendErrorKind = Literal["connect", "timeout", "reset", "too_large", "protocol"]

#: the status line and headers of an answer, in all (aiohttp's bound is 8190 a line)
MAX_HEAD_BYTES = 16 * 1024
_INFLATE_WBITS = {b"gzip": 16 + zlib.MAX_WBITS, b"x-gzip": 16 + zlib.MAX_WBITS, b"deflate": 0}


class SendError(Exception):
    """The exchange failed; see the module docstring for ``kind`` and ``sent``."""

    def __init__(self, kind: SendErrorKind, message: str, *, sent: bool) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind: SendErrorKind = kind
        self.sent = sent


class Answer:
    """A complete answer, as it came: the caller decodes the headers it needs."""

    __slots__ = ("body", "headers", "keep_alive", "status")

    def __init__(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, keep_alive: bool
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class BuyerConnection(asyncio.Protocol):
    """One connection, one exchange at a time. ``on_lost`` is called once, when it closes."""

    def __init__(self, on_lost: Callable[[BuyerConnection], None]) -> None:
        self._on_lost = on_lost
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self.closed = False
        #: when it last went back to the pool (the pool's clock)
        self.idle_since = 0.0
        # the exchange in progress
        self._answered: asyncio.Future[Answer] | None = None
        self._limit = 0
        self._head_size = 0
        self._unparsed = 0
        self._head_done = False
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._size = 0
        self._inflater: zlib._Decompress | None = None
        #: Content-Length or chunked: the end of the connection is not the end of the body
        self._framed = False

    # -- the caller's side ----------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return not self.closed and self._answered is None

    def exchange(self, request: bytes, limit: int) -> asyncio.Future[Answer]:
        """Write ``request`` (head and body, ready to go); the future is its answer, with at
        most ``limit`` body bytes (decompressed) or ``SendError``."""
        assert self._transport is not None
        assert self._answered is None
        if self.closed:  # the buyer closed it between the pool and here: nothing left
            raise SendError("connect", "the connection closed before the request", sent=False)
        self._answered = asyncio.get_running_loop().create_future()
        self._limit = limit
        self._unparsed = 0
        self._head_done = False
        self._transport.write(request)
        return self._answered

    def close(self) -> None:
        """Drop the connection now: an answer half read or never asked for is worthless."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio's side -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not registered as asyncio.Transport, yet are one
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answered is None or self._answered.done():
            # bytes nobody asked for: the connection's state is unknown
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, SendError):
                self._fail(cause)
            else:
                self._fail(_protocol(f"unreadable answer ({cause or exc})"))
            return
        except httptools.HttpParserUpgrade:
            self._fail(_protocol("the buyer switched protocols"))
            return
        except httptools.HttpParserError as exc:
            self._fail(_protocol(f"invalid HTTP response: {exc}"))
            return
        if not self._head_done:
            # llhttp holds a header until its end: bound what it may hold
            self._unparsed += len(data)
            if self._unparsed > MAX_HEAD_BYTES:
                self._fail(_head_too_large())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        answered = self._answered
        if answered is not None and not answered.done():
            if self._head_done and not self._framed:
                # no length and not chunked: the body is whatever came before the end
                try:
                    self._finish(keep_alive=False)
                except SendError as error:
                    answered.set_exception(error)
            else:
                said = f" ({exc})" if exc else ""
                answered.set_exception(
                    SendError("reset", f"connection closed before the answer{said}", sent=True)
                )
        self._on_lost(self)

    # -- httptools' callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._answered is None:
            # a second answer to one request: nothing read from here on can be trusted
            raise _protocol("an answer to no request")
        self._head_size = 0
        self._head_done = False
        self._headers = []
        self._chunks = []
        self._size = 0
        self._inflater = None
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value)
        if self._head_size > MAX_HEAD_BYTES:
            raise _head_too_large()
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._head_done = True
        self._status = self._parser.get_status_code()
        declared: int | None = None
        encoding = b""
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length":
                declared = int(value)  # llhttp has checked it is one number
                self._framed = True
            elif lowered == b"transfer-encoding":
                self._framed = True
            elif lowered == b"content-encoding":
                encoding = value.strip().lower()
        if encoding and encoding != b"identity":
            wbits = _INFLATE_WBITS.get(encoding)
            if wbits is None:
                raise _protocol(f"unsupported Content-Encoding {encoding.decode('latin-1')!r}")
            # deflate: 0 takes the window size from the zlib header
            self._inflater = zlib.decompressobj(wbits)
        elif declared is not None and declared > self._limit:
            raise SendError(
                "too_large", f"Content-Length {declared} > {self._limit} bytes", sent=True
            )

    def on_body(self, body: bytes) -> None:
        room = self._limit - self._size
        if self._inflater is not None:
            try:
                # one byte more than the room: a bomb never inflates past the limit
                body = self._inflater.decompress(body, room + 1)
            except zlib.error as exc:
                raise _protocol(f"corrupt compressed body ({exc})") from exc
            if self._inflater.unconsumed_tail:
                raise _too_large(self._limit)
        if len(body) > room:
            raise _too_large(self._limit)
        self._size += len(body)
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:
            return  # an interim answer (100 Continue): the real one follows
        self._finish(keep_alive=self._parser.should_keep_alive())

    # -- inside ---------------------------------------------------------------------------

    def _finish(self, *, keep_alive: bool) -> None:
        if self._inflater is not None:
            if not self._inflater.eof:
                raise _protocol("compressed body cut short")
            if self._inflater.unused_data:
                raise _protocol("bytes after the compressed body")
        answered = self._answered
        assert answered is not None
        answer = Answer(self._status, self._headers, b"".join(self._chunks), keep_alive)
        if not answered.done():
            answered.set_result(answer)
        self._answered = None

    def _fail(self, error: SendError) -> None:
        answered = self._answered
        if answered is not None and not answered.done():
            answered.set_exception(error)
        self.close()


def _protocol(message: str) -> SendError:
    return SendError("protocol", message, sent=True)


def _head_too_large() -> SendError:
    return _protocol(f"status line and headers over {MAX_HEAD_BYTES} bytes")


def _too_large(limit: int) -> SendError:
    return SendError("too_large", f"body over {limit} bytes", sent=True)
