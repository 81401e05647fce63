"""The bare fan-out: the least any ping/post platform must do, as a yardstick.

A minimal aiohttp proxy: on each request it pings every buyer at once over one pooled
client and answers with the best bid. No validation, storage, rules or auth.

    python bench/bare_fanout.py --port 8200 URL [URL …]
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
import orjson
from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    body = orjson.dumps({"zip": "33101", "state": "FL", "age": 34})

    async def client_ctx(app: web.Application):  # type: ignore[no-untyped-def]
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        app["client"] = aiohttp.ClientSession(connector=connector)
        yield
        await app["client"].close()

    async def ask(client: aiohttp.ClientSession, url: str) -> float:
        async with client.post(url, data=body, headers={"content-type": "application/json"}) as r:
            return float(orjson.loads(await r.read()).get("price") or 0)

    async def ping(request: web.Request) -> web.Response:
        await request.read()
        client = request.app["client"]
        tasks = [asyncio.ensure_future(ask(client, url)) for url in args.urls]
        done, pending = await asyncio.wait(tasks, timeout=args.timeout)
        for task in pending:
            task.cancel()
        prices = [t.result() for t in done if not t.exception()]
        return web.json_response({"status": "accepted", "bid": max(prices, default=0)})

    app = web.Application()
    app.cleanup_ctx.append(client_ctx)
    app.router.add_post("/ping", ping)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
