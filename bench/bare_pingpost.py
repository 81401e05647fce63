"""The bare ping/post proxy: the least any ping/post platform must do, as a yardstick.

A minimal aiohttp server over one pooled client. ``POST /ping`` pings every buyer at once
and keeps the best bid (the buyer, its token) in a dict in memory under a new ping id,
which it answers. ``POST /post`` takes that ping id, posts the lead to the winning buyer
with its token and answers ``sold`` when the buyer accepts. No validation, storage, rules
or auth.

    python bench/bare_pingpost.py --port 8200 BUYER_URL [BUYER_URL …]

Each ``BUYER_URL`` is a mock buyer endpoint's base: ``BUYER_URL/ping`` and
``BUYER_URL/post`` (``pingtree mockbuyer``'s answers: ``status``, ``price``, ``ping_id``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from aiohttp import web

JSON = {"content-type": "application/json"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=1.0, help="ping fan-out deadline (s)")
    parser.add_argument("--post-timeout", type=float, default=15.0, help="post deadline (s)")
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    urls: list[str] = args.urls
    client_key = web.AppKey("client", aiohttp.ClientSession)
    #: ping id → (the winning buyer's base URL, its token)
    won: dict[str, tuple[str, str]] = {}
    ids = itertools.count(1)

    async def client_ctx(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        app[client_key] = aiohttp.ClientSession(connector=connector)
        yield
        await app[client_key].close()

    async def ask(client: aiohttp.ClientSession, url: str, body: bytes) -> tuple[float, str]:
        async with client.post(f"{url}/ping", data=body, headers=JSON) as r:
            answer = orjson.loads(await r.read())
        if answer.get("status") != "success":
            return 0.0, ""
        return float(answer.get("price") or 0), str(answer.get("ping_id") or "")

    async def ping(request: web.Request) -> web.Response:
        fields = orjson.loads(await request.read()).get("fields", {})
        body = orjson.dumps(fields)
        client = request.app[client_key]
        tasks = {asyncio.ensure_future(ask(client, url, body)): url for url in urls}
        done, pending = await asyncio.wait(tasks, timeout=args.timeout)
        for task in pending:
            task.cancel()
        bids = [(t.result(), tasks[t]) for t in done if not t.exception()]
        (price, token), url = max(bids, default=((0.0, ""), ""))
        if price <= 0:
            return web.json_response({"status": "rejected", "reasons": ["no_bid"]})
        ping_id = str(next(ids))
        won[ping_id] = (url, token)
        return web.json_response({"status": "accepted", "ping_id": ping_id, "bid": price})

    async def post(request: web.Request) -> web.Response:
        lead: dict[str, Any] = orjson.loads(await request.read())
        winner = won.pop(str(lead.get("ping_id")), None)
        if winner is None:
            return web.json_response({"status": "rejected", "reasons": ["ping_not_found"]})
        url, token = winner
        body = orjson.dumps({**lead.get("fields", {}), "ping_id": token})
        client = request.app[client_key]
        timeout = aiohttp.ClientTimeout(total=args.post_timeout)
        async with client.post(f"{url}/post", data=body, headers=JSON, timeout=timeout) as r:
            answer = orjson.loads(await r.read())
        if answer.get("status") != "success":
            return web.json_response({"status": "rejected", "reasons": ["buyer_rejected"]})
        return web.json_response({"status": "sold", "redirect_url": answer.get("redirect_url")})

    app = web.Application()
    app.cleanup_ctx.append(client_ctx)
    app.router.add_post("/ping", ping)
    app.router.add_post("/post", post)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
