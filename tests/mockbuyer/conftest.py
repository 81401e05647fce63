"""Mock buyers on 127.0.0.1 and a plain aiohttp client to talk to them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import pytest

from pingtree.mockbuyer import EndpointConfig, MockBuyer

StartBuyer = Callable[..., Awaitable[MockBuyer]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def start_buyer() -> AsyncIterator[StartBuyer]:
    """``await start_buyer({"name": {...config...}}, seed=0)``: a running MockBuyer."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(endpoints: Mapping[str, Any], seed: int = 0) -> MockBuyer:
            configs = {
                name: c if isinstance(c, EndpointConfig) else EndpointConfig.model_validate(c)
                for name, c in endpoints.items()
            }
            return await stack.enter_async_context(MockBuyer(configs, seed=seed))

        yield start
