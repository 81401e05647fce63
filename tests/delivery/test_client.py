"""``send`` against real servers on 127.0.0.1: mock buyers, and raw sockets for broken HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import ipaddress
import socket
import ssl
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pingtree.delivery.client import (
    AddressGuard,
    BuyerClient,
    RawResponse,
    SendError,
    create_client,
    send,
)
from pingtree.mockbuyer import EndpointConfig, MockBuyer

JSON = [("Content-Type", "application/json")]

ENDPOINTS = {
    "ok": {"bid": {"kind": "fixed", "amount": "12.5"}, "bid_format": "string"},
    "hang": {"misbehaviour": {"kind": "hang"}},
    "reset": {"misbehaviour": {"kind": "reset"}},
    "huge": {"misbehaviour": {"kind": "huge"}},
    "huge_sized": {"misbehaviour": {"kind": "huge", "declare_length": True}},
    "bomb": {"gzip": True, "misbehaviour": {"kind": "huge", "bytes": 300 * 1024}},
    "bomb_10mb": {"gzip": True, "misbehaviour": {"kind": "huge"}},
    "gzip": {"gzip": True},
    "redirect": {"misbehaviour": {"kind": "redirect", "location": "/ok/post"}},
    "drip": {"misbehaviour": {"kind": "slow_drip", "interval_ms": 50}},
    "unavailable": {"misbehaviour": {"kind": "error", "status": 503}},
    "slow": {"latency": 300},
}

#: the mock buyers live on loopback, which a real deployment never calls
LOOPBACK = ("127.0.0.1",)


@pytest.fixture
async def buyer() -> AsyncIterator[MockBuyer]:
    configs = {name: EndpointConfig.model_validate(c) for name, c in ENDPOINTS.items()}
    async with MockBuyer(configs) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[BuyerClient]:
    session = create_client(allow=LOOPBACK)
    try:
        yield session
    finally:
        await session.close()


async def ping(client: BuyerClient, url: str, seconds: float = 2.0, **kwargs: Any) -> RawResponse:
    return await send(client, "POST", url, JSON, b'{"zip":"10001"}', timeout=seconds, **kwargs)


async def until_received(buyer: MockBuyer) -> None:
    for _ in range(500):
        if buyer.requests:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the mock buyer received nothing")


async def cancelled(task: asyncio.Task[RawResponse]) -> None:
    """Cancel a request still running; it ends as cancelled, nothing else."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def failure(call: Awaitable[RawResponse]) -> tuple[SendError, float]:
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        await call
    return caught.value, time.monotonic() - started


# -- answers ------------------------------------------------------------------------------


async def test_json_answer(client, buyer: MockBuyer):
    response = await send(
        client,
        "POST",
        buyer.ping_url("ok"),
        [*JSON, ("X-Api-Key", "k1"), ("X-Api-Key", "k2")],
        b'{"zip":"10001"}',
        timeout=2,
    )

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(response.body)["price"] == "12.50"
    assert 0 <= response.elapsed_ms < 2000
    (received,) = buyer.requests
    assert received.body == b'{"zip":"10001"}'
    assert received.headers.getall("X-Api-Key") == ["k1", "k2"]  # type: ignore[attr-defined]
    assert received.headers["User-Agent"] == "pingtree"
    assert "Cookie" not in received.headers


async def test_error_status_is_a_response_not_an_error(client, buyer: MockBuyer):
    response = await ping(client, buyer.ping_url("unavailable"))

    assert response.status == 503
    assert response.body == b"Internal Server Error"


async def test_redirect_is_returned_not_followed(client, buyer: MockBuyer):
    response = await ping(client, buyer.ping_url("redirect"))

    assert response.status == 302
    assert response.headers["Location"] == "/ok/post"
    assert [r.path for r in buyer.requests] == ["/redirect/ping"]  # /ok/post never called


async def test_gzip_answer_is_inflated(client, buyer: MockBuyer):
    response = await ping(client, buyer.ping_url("gzip"))

    assert response.headers["Content-Encoding"] == "gzip"
    assert orjson.loads(response.body)["status"] == "success"


async def test_body_of_exactly_the_limit_is_fine(client, buyer: MockBuyer):
    size = len((await ping(client, buyer.ping_url("ok"))).body)

    response = await ping(client, buyer.ping_url("ok"), max_response_bytes=size)

    assert len(response.body) == size


async def test_latency_shows_in_elapsed(client, buyer: MockBuyer):
    response = await ping(client, buyer.ping_url("slow"))

    assert 290 <= response.elapsed_ms < 2000


# -- the pool -----------------------------------------------------------------------------


async def test_sequential_requests_reuse_one_connection(client, buyer: MockBuyer):
    for _ in range(20):
        assert (await ping(client, buyer.ping_url("ok"))).status == 200

    assert buyer.connections_accepted == 1
    assert {r.connection for r in buyer.requests} == {1}


async def test_parallel_requests_open_parallel_connections_then_reuse_them(
    client, buyer: MockBuyer
):
    for _ in range(3):
        await asyncio.gather(*(ping(client, buyer.ping_url("slow")) for _ in range(5)))

    assert len(buyer.requests) == 15
    assert buyer.connections_accepted == 5


async def test_a_broken_connection_is_not_reused(client, buyer: MockBuyer):
    await ping(client, buyer.ping_url("ok"))
    with contextlib.suppress(SendError):
        await ping(client, buyer.ping_url("hang"), seconds=0.2)

    await ping(client, buyer.ping_url("ok"))

    assert [r.connection for r in buyer.requests] == [1, 1, 2]


async def test_connections_to_one_host_are_bounded(buyer: MockBuyer):
    session = create_client(limit=64, limit_per_host=3, allow=LOOPBACK)
    try:
        answers = await asyncio.gather(*(ping(session, buyer.ping_url("slow")) for _ in range(6)))
    finally:
        await session.close()

    assert [a.status for a in answers] == [200] * 6
    assert buyer.connections_accepted == 3  # the other three waited for a free one
    assert len(buyer.requests) == 6


async def test_an_idle_connection_to_another_host_gives_way_at_the_limit(buyer: MockBuyer):
    by_name = buyer.ping_url("ok").replace("127.0.0.1", "localhost")  # another pool key
    session = create_client(limit=1, allow=LOOPBACK)
    try:
        for url in (buyer.ping_url("ok"), by_name, buyer.ping_url("ok")):
            assert (await ping(session, url, seconds=1)).status == 200
    finally:
        await session.close()

    # each idle connection was closed to make room for the next host's
    assert [r.connection for r in buyer.requests] == [1, 2, 3]


async def test_a_freed_connection_goes_to_a_request_for_its_host(buyer: MockBuyer):
    a = buyer.ping_url("hang")
    b = buyer.ping_url("slow").replace("127.0.0.1", "localhost")  # another host to the pool
    session = create_client(limit=10, limit_per_host=1, allow=LOOPBACK)
    try:
        a_busy = asyncio.create_task(ping(session, a, seconds=5))
        b_busy = asyncio.create_task(ping(session, b, seconds=5))
        await asyncio.sleep(0.05)
        a_waiting = asyncio.create_task(ping(session, a, seconds=1.5))  # first in line
        b_waiting = asyncio.create_task(ping(session, b.replace("slow", "ok"), seconds=1.5))

        assert (await b_busy).status == 200
        assert (await b_waiting).status == 200  # not left waiting behind a_waiting
        error, _ = await failure(a_waiting)
        assert (error.kind, error.sent) == ("timeout", False)
        await cancelled(a_busy)
    finally:
        await session.close()


async def test_default_headers_and_a_steps_own(client, buyer: MockBuyer):
    await send(
        client,
        "POST",
        buyer.ping_url("ok"),
        [("User-Agent", "acme-leads"), ("Content-Length", "999"), ("Host", "evil.example")],
        b"{}",
        timeout=2,
    )

    (received,) = buyer.requests
    assert received.headers["User-Agent"] == "acme-leads"  # a step may name itself
    assert received.headers["Content-Length"] == "2"  # framing is never the step's
    assert received.headers["Host"].startswith("127.0.0.1:")
    assert "Cookie" not in received.headers


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Key", "a\r\nX-Injected: 1"), ("Bad Name", "v"), ("X-Key", "a\nb")],
)
async def test_a_header_that_would_split_the_request_is_refused(
    client, buyer: MockBuyer, name: str, value: str
):
    error, _ = await failure(
        send(client, "POST", buyer.ping_url("ok"), [(name, value)], b"{}", timeout=2)
    )

    assert (error.kind, error.sent) == ("connect", False)
    assert buyer.requests == []


async def test_a_target_with_spaces_or_non_ascii_is_percent_encoded(client, buyer: MockBuyer):
    response = await send(
        client, "GET", buyer.ping_url("ok") + "?city=São Paulo&x=a%20b", [], b"", timeout=2
    )

    assert response.status == 200
    (received,) = buyer.requests
    assert received.query_string == "city=São Paulo&x=a b"  # as the buyer decodes it


def test_the_same_under_uvloop():
    """The server runs on uvloop, whose transports differ from asyncio's."""

    async def exchanges() -> list[object]:
        configs = {name: EndpointConfig.model_validate(c) for name, c in ENDPOINTS.items()}
        async with MockBuyer(configs) as buyer, create_client(allow=LOOPBACK) as session:
            seen: list[object] = []
            for endpoint in ("ok", "ok", "gzip", "reset", "hang"):
                try:
                    seen.append((await ping(session, buyer.ping_url(endpoint), 0.3)).status)
                except SendError as error:
                    seen.append(error.kind)
            seen.append(buyer.connections_accepted)
            return seen

    assert uvloop.run(exchanges()) == [200, 200, 200, "reset", "timeout", 2]


# -- failures -----------------------------------------------------------------------------


async def test_hanging_buyer_times_out_on_time(client, buyer: MockBuyer):
    error, elapsed = await failure(ping(client, buyer.ping_url("hang"), seconds=0.4))

    assert (error.kind, error.sent) == ("timeout", True)
    assert 0.39 <= elapsed < 0.9


async def test_slow_drip_is_bounded_by_the_same_timeout(client, buyer: MockBuyer):
    error, elapsed = await failure(ping(client, buyer.ping_url("drip"), seconds=0.4))

    assert error.kind == "timeout"
    assert elapsed < 0.9
    assert buyer.requests  # the answer had started: the whole exchange is bounded


async def test_waiting_for_a_pooled_connection_counts_and_sent_nothing(buyer: MockBuyer):
    session = create_client(limit=1, allow=LOOPBACK)
    try:
        hanging = asyncio.create_task(ping(session, buyer.ping_url("hang"), seconds=5))
        await until_received(buyer)

        error, elapsed = await failure(ping(session, buyer.ping_url("ok"), seconds=0.3))

        assert (error.kind, error.sent) == ("timeout", False)  # safe to retry
        assert elapsed < 0.8
        assert [r.endpoint for r in buyer.requests] == ["hang"]
        await cancelled(hanging)
    finally:
        await session.close()


async def test_reset_after_sending(client, buyer: MockBuyer):
    error, _ = await failure(ping(client, buyer.ping_url("reset")))

    assert (error.kind, error.sent) == ("reset", True)
    assert buyer.requests[0].body == b'{"zip":"10001"}'


async def test_connection_refused(client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    error, elapsed = await failure(ping(client, f"http://127.0.0.1:{port}/ping"))

    assert (error.kind, error.sent) == ("connect", False)
    assert elapsed < 1


async def test_invalid_url_is_a_connect_error(client):
    error, _ = await failure(ping(client, "ftp://127.0.0.1/x"))

    assert (error.kind, error.sent) == ("connect", False)


@pytest.mark.parametrize("endpoint", ["huge", "bomb_10mb"])
async def test_huge_body_stops_early(client, buyer: MockBuyer, endpoint: str):
    tracemalloc.start()
    try:
        error, elapsed = await failure(ping(client, buyer.ping_url(endpoint)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (error.kind, error.sent) == ("too_large", True)
    assert "262144" in str(error)
    assert elapsed < 2
    assert peak < 4 * 1024 * 1024  # the 10 MB were never held (server side included)


async def test_declared_huge_body_is_refused_from_its_length(client, buyer: MockBuyer):
    error, elapsed = await failure(ping(client, buyer.ping_url("huge_sized")))

    assert error.kind == "too_large"
    assert "Content-Length 10485760" in str(error)
    assert elapsed < 1


async def test_limit_counts_inflated_bytes(client, buyer: MockBuyer):
    async with (
        aiohttp.ClientSession() as plain,
        plain.post(buyer.ping_url("bomb"), auto_decompress=False) as raw,
    ):
        wire = len(await raw.read())

    error, _ = await failure(ping(client, buyer.ping_url("bomb")))
    fits = await ping(client, buyer.ping_url("bomb"), max_response_bytes=400 * 1024)

    assert wire < 10 * 1024  # tiny on the wire...
    assert error.kind == "too_large"  # ...300 KiB inflated, over the 256 KiB limit
    assert len(fits.body) == 300 * 1024


async def test_cancellation_propagates(client, buyer: MockBuyer):
    task = asyncio.create_task(ping(client, buyer.ping_url("hang"), seconds=10))
    await until_received(buyer)

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


# -- broken HTTP from a raw socket ---------------------------------------------------------

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(reply: Reply) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)  # else closing with unread bytes sends an RST
        try:
            await reply(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/ping"
    finally:
        server.close()
        await server.wait_closed()


def writes(data: bytes) -> Reply:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return reply


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"SMTP ready\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 20_000 + b"\r\n\r\n", id="huge-header"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
            id="bad-gzip",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad\r\n0\r\n\r\n",
            id="bad-chunk",
        ),
    ],
)
async def test_invalid_http_is_a_protocol_error(client, data: bytes):
    async with raw_server(writes(data)) as url:
        error, _ = await failure(ping(client, url))

    assert (error.kind, error.sent) == ("protocol", True)


async def test_an_interim_answer_is_skipped(client):
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with raw_server(writes(data)) as url:
        response = await ping(client, url)

    assert (response.status, response.body) == (200, b"ok")


async def test_a_second_answer_to_one_request_is_not_mixed_in(client):
    first = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
    second = b"HTTP/1.1 200 OK\r\nX-Second: 1\r\nContent-Length: 6\r\n\r\nsecond"
    async with raw_server(writes(first + second)) as url:
        response = await ping(client, url)

    assert response.body == b"first"
    assert "X-Second" not in response.headers


async def test_a_connection_the_buyer_closed_while_idle_is_not_reused(client):
    # keep-alive by HTTP/1.1's default, then the buyer closes: the next request must not go
    # out on that socket (it would read as a reset, an unknown outcome for a post)
    async with raw_server(writes(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) as url:
        first = await ping(client, url)
        await asyncio.sleep(0.1)  # the buyer's close arrives
        second = await ping(client, url)

    assert (first.body, second.body) == (b"ok", b"ok")


async def test_closed_before_answering_is_a_reset(client):
    async with raw_server(writes(b"")) as url:
        error, _ = await failure(ping(client, url))

    assert (error.kind, error.sent) == ("reset", True)


async def test_body_cut_short_is_a_reset(client):
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b'{"status":'
    async with raw_server(writes(cut)) as url:
        error, _ = await failure(ping(client, url))

    assert (error.kind, error.sent) == ("reset", True)


async def test_gzip_with_content_length_is_counted_inflated(client):
    inflated = b"x" * 300_000
    body = gzip.compress(inflated)
    head = (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    async with raw_server(writes(head + body)) as url:
        error, _ = await failure(ping(client, url))
        fits = await ping(client, url, max_response_bytes=300_000)

    assert error.kind == "too_large"
    assert fits.body == inflated


# -- https -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem"


@contextlib.asynccontextmanager
async def tls_server(certificate: tuple[Path, Path]) -> AsyncIterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsecured"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            while True:  # keep-alive: one answer per request
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(len(b'{"zip":"10001"}'))
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}/ping"
    finally:
        server.close()
        await server.wait_closed()


async def test_https_buyer_with_a_trusted_certificate(certificate: tuple[Path, Path]):
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    async with (
        tls_server(certificate) as url,
        create_client(allow=LOOPBACK, tls=trusted) as session,
    ):
        answers = [await ping(session, url) for _ in range(3)]

    assert [(a.status, a.body) for a in answers] == [(200, b"secured")] * 3


async def test_https_buyer_with_an_untrusted_certificate_is_never_sent_to(
    client, certificate: tuple[Path, Path]
):
    async with tls_server(certificate) as url:
        error, _ = await failure(ping(client, url))

    assert (error.kind, error.sent) == ("connect", False)
    assert "certificate" in str(error).lower()


# -- only public buyers (DESIGN §8.6) ------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "allow", "permitted"),
    [
        ("93.184.216.34", (), True),
        ("2606:2800:220:1:248:1893:25c8:1946", (), True),
        ("127.0.0.1", (), False),
        ("::1", (), False),
        ("10.1.2.3", (), False),
        ("172.16.0.9", (), False),
        ("192.168.1.20", (), False),
        ("169.254.169.254", (), False),  # the cloud metadata address
        ("fe80::1", (), False),
        ("0.0.0.0", (), False),
        ("10.1.2.3", ("10.1.0.0/16",), True),
        ("10.2.0.1", ("10.1.0.0/16",), False),
        ("127.0.0.1", ("127.0.0.1",), True),
    ],
)
def test_which_addresses_may_be_called(
    address: str, allow: tuple[str, ...], permitted: bool
) -> None:
    assert AddressGuard(allow).permits(address) is permitted


async def test_a_buyer_on_loopback_is_refused_unless_allowed(buyer: MockBuyer) -> None:
    async with create_client() as guarded:
        error, _ = await failure(ping(guarded, buyer.ping_url("ok")))
        assert (error.kind, error.sent) == ("connect", False)
        assert "not a public address" in str(error)
        # a name that resolves to loopback is refused the same way
        by_name = buyer.ping_url("ok").replace("127.0.0.1", "localhost")
        error, _ = await failure(ping(guarded, by_name))
        assert (error.kind, error.sent) == ("connect", False)
    assert buyer.requests_to("ok") == []
