"""``serve_mockbuyer``: what ``pingtree mockbuyer`` runs."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from pingtree.mockbuyer import MockBuyer, serve_mockbuyer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serves_a_yaml_file_until_cancelled(tmp_path: Path):
    path = tmp_path / "buyers.yaml"
    path.write_text("seed: 3\nendpoints:\n  acme: {bid: {kind: fixed, amount: 4}}\n  b: {}\n")
    port = free_port()
    ready: asyncio.Future[MockBuyer] = asyncio.get_running_loop().create_future()

    task = asyncio.create_task(serve_mockbuyer(path, "127.0.0.1", port, on_ready=ready.set_result))
    buyer = await asyncio.wait_for(ready, 5)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{port}/acme/ping") as response:
            answer = await response.json()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(aiohttp.ClientConnectorError):
            await http.post(f"http://127.0.0.1:{port}/acme/ping")

    assert buyer.url == f"http://127.0.0.1:{port}"
    assert answer["price"] == 4
    assert buyer.requests == []  # not recorded: it may run for hours


async def test_serves_a_mapping():
    port = free_port()
    ready: asyncio.Future[MockBuyer] = asyncio.get_running_loop().create_future()

    task = asyncio.create_task(
        serve_mockbuyer({"x": {"format": "text"}}, "127.0.0.1", port, on_ready=ready.set_result)
    )
    await asyncio.wait_for(ready, 5)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{port}/x/ping") as response,
        ):
            assert (await response.text()).startswith("success|10.00|")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
