"""Each misbehaviour is observable from a real client, and the server survives it."""

from __future__ import annotations

import asyncio
import time
import zlib

import aiohttp
import orjson
import pytest
from lxml import etree

from pingtree.mockbuyer import MockBuyer
from tests.mockbuyer.conftest import StartBuyer


async def still_answers(http: aiohttp.ClientSession, buyer: MockBuyer) -> bool:
    async with http.post(buyer.ping_url("ok")) as response:
        return response.status == 200 and (await response.json())["status"] == "success"


async def test_hang_never_answers(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"h": {"misbehaviour": {"kind": "hang"}}, "ok": {}})

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5), http.post(buyer.ping_url("h"), json={}) as response:
            await response.read()

    assert time.monotonic() - started >= 0.5
    assert len(buyer.requests_to("h", "ping")) == 1  # it did read the request
    assert await still_answers(http, buyer)


async def test_hanging_requests_do_not_delay_shutdown(http):
    from pingtree.mockbuyer import EndpointConfig, Hang

    buyer = MockBuyer({"h": EndpointConfig(misbehaviour=[Hang()])})
    async with buyer:
        task = asyncio.create_task(http.post(buyer.ping_url("h")))
        for _ in range(500):
            if buyer.requests:
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
    stopped_in = time.monotonic() - started

    with pytest.raises(aiohttp.ClientError):
        await task
    assert stopped_in < 0.3


async def test_reset_after_reading_the_request(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"r": {"misbehaviour": {"kind": "reset"}}, "ok": {}})

    with pytest.raises(aiohttp.ClientOSError) as caught:
        await http.post(buyer.ping_url("r"), json={"zip": "10001"})

    assert caught.value.errno == 104  # ECONNRESET: an RST, not a clean close
    assert buyer.requests_to("r")[0].body == b'{"zip": "10001"}'
    assert await still_answers(http, buyer)


@pytest.mark.parametrize(
    ("fmt", "ctype"), [("json", "application/json"), ("xml", "application/xml")]
)
async def test_garbage_does_not_parse(http, start_buyer: StartBuyer, fmt: str, ctype: str):
    buyer = await start_buyer({"g": {"format": fmt, "misbehaviour": {"kind": "garbage"}}})

    async with http.post(buyer.ping_url("g")) as response:
        body = await response.read()
        assert (response.status, response.headers["Content-Type"]) == (200, ctype)

    parse = orjson.loads if fmt == "json" else etree.fromstring
    with pytest.raises((orjson.JSONDecodeError, etree.XMLSyntaxError)):
        parse(body)


async def test_huge_body_is_streamed_in_full(http, start_buyer: StartBuyer):
    size = 3 * 1024 * 1024 + 7
    buyer = await start_buyer(
        {
            "chunked": {"misbehaviour": {"kind": "huge", "bytes": size}},
            "sized": {"misbehaviour": {"kind": "huge", "bytes": size, "declare_length": True}},
        }
    )

    async with http.post(buyer.ping_url("chunked")) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"
        chunked = len(await response.read())
    async with http.post(buyer.ping_url("sized")) as response:
        assert response.content_length == size
        sized = len(await response.read())

    assert chunked == sized == size


async def test_default_huge_body_is_10_mb(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"huge": {"misbehaviour": {"kind": "huge"}}})

    async with http.post(buyer.ping_url("huge")) as response:
        total = 0
        async for chunk in response.content.iter_any():
            total += len(chunk)

    assert total == 10 * 1024 * 1024


async def test_huge_and_gzip_is_a_gzip_bomb(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"bomb": {"gzip": True, "misbehaviour": {"kind": "huge"}}})

    async with http.post(buyer.ping_url("bomb"), auto_decompress=False) as response:
        wire = await response.read()
        assert response.headers["Content-Encoding"] == "gzip"

    assert len(wire) < 100_000
    assert len(zlib.decompress(wire, 16 + zlib.MAX_WBITS)) == 10 * 1024 * 1024


async def fetch(http: aiohttp.ClientSession, url: str) -> bytes:
    async with http.post(url) as response:
        assert response.headers["Content-Type"] == "application/xml"
        return await response.read()


def hardened() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


async def test_entity_bomb(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"bomb": {"misbehaviour": {"kind": "entity_bomb"}}})

    body = await fetch(http, buyer.ping_url("bomb"))

    assert len(body) < 2_000
    assert b"<!ENTITY lol9" in body
    # nine levels of ten: 10**9 "lol"s; libxml2's amplification guard refuses it, resolving
    # entities or not
    for parser in (hardened(), etree.XMLParser(resolve_entities=True)):
        with pytest.raises(etree.XMLSyntaxError, match="amplification"):
            etree.fromstring(body, parser)


async def test_doctype_declares_an_external_entity(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"xxe": {"misbehaviour": {"kind": "doctype"}}})

    body = await fetch(http, buyer.ping_url("xxe"))
    root = etree.fromstring(body, hardened())

    assert b'<!ENTITY xxe SYSTEM "file:///etc/passwd">' in body
    assert root.getroottree().docinfo.internalDTD is not None  # what a reader must refuse
    assert "root:" not in etree.tostring(root).decode()  # the hardened parser kept it out


async def test_slow_drip_trickles_the_real_answer(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {"drip": {"misbehaviour": {"kind": "slow_drip", "interval_ms": 20, "chunk_bytes": 10}}}
    )

    started = time.monotonic()
    arrivals = []
    async with http.post(buyer.ping_url("drip")) as response:
        body = b""
        async for chunk in response.content.iter_any():
            arrivals.append(time.monotonic() - started)
            body += chunk
    elapsed = time.monotonic() - started

    assert orjson.loads(body)["status"] == "success"  # the answer, in the end
    pieces = -(-len(body) // 10)
    assert elapsed >= pieces * 0.02 * 0.8
    assert len(arrivals) >= pieces // 2  # it did arrive in pieces


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error(http, start_buyer: StartBuyer, status: int):
    buyer = await start_buyer(
        {"e": {"misbehaviour": {"kind": "error", "status": status, "body": "oops"}}}
    )

    async with http.post(buyer.ping_url("e")) as response:
        assert response.status == status
        assert await response.read() == b"oops"


async def test_redirect(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {"r": {"misbehaviour": {"kind": "redirect", "status": 307, "location": "/x/ping"}}}
    )

    async with http.post(buyer.ping_url("r"), allow_redirects=False) as response:
        assert response.status == 307
        assert response.headers["Location"] == "/x/ping"


async def test_misbehaviour_rate_and_kind_filter(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {
            "flaky": {
                "check_token": False,
                "misbehaviour": [
                    {"kind": "error", "status": 503, "rate": 0.2, "on": "ping"},
                    {"kind": "error", "status": 502, "rate": 0.1},
                ],
            }
        }
    )

    async def statuses(url: str) -> list[int]:
        out = []
        for _ in range(400):
            async with http.post(url, json={}) as response:
                out.append(response.status)
        return out

    pings = await statuses(buyer.ping_url("flaky"))
    posts = await statuses(buyer.post_url("flaky"))

    assert 0.13 < pings.count(503) / 400 < 0.27
    assert 0.05 < pings.count(502) / 400 < 0.15
    assert 503 not in posts
    assert 0.05 < posts.count(502) / 400 < 0.15
    assert set(pings) == {200, 502, 503}
