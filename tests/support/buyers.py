"""Mock buyers for the synchronous API tests: a real MockBuyer served from a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pingtree.mockbuyer import EndpointConfig, MockBuyer


@contextmanager
def running_buyers(
    endpoints: Mapping[str, Mapping[str, Any]], port: int = 0, host: str = "127.0.0.1"
) -> Iterator[MockBuyer]:
    """A MockBuyer in a thread with its own event loop (the API tests are synchronous), on
    ``host`` and ``port`` (0: any free one)."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        configs = {name: EndpointConfig.model_validate(c) for name, c in endpoints.items()}
        async with MockBuyer(configs, host=host, port=port) as mock:
            holder.update(mock=mock, stop=stop, loop=asyncio.get_running_loop())
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the mock buyer did not start")
    try:
        yield holder["mock"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
