"""One OS process racing for the last slots of one cap (run by ``test_caps_race.py``).

``python race_worker.py DATABASE_URL REDIS_URL|- ATTEMPTS TAG LIMIT MODE``: connect, print
``ready``, wait for a line on stdin, then make ``ATTEMPTS`` concurrent sales on the total
count cap ``order:race`` of ``LIMIT`` (``MODE`` ``reserve``: reserve then commit, as a ping
and its post; ``commit``: commit only, as a direct post). Prints ``{"sold": N}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys

from sqlalchemy import text

from pingtree.domain.caps import CapCharge
from pingtree.store.caps import create_cap_ledger, create_redis
from pingtree.store.db import create_engine, session_factory


async def race(url: str, redis_url: str, attempts: int, tag: str, limit: int, mode: str) -> int:
    engine = create_engine(url)
    sessions = session_factory(engine)
    redis = create_redis(redis_url) if redis_url != "-" else None
    ledger = create_cap_ledger(sessions, redis)
    charge = CapCharge("order:race", "count:t", limit, 1, None, is_budget=False)
    now = dt.datetime.now(dt.UTC)
    try:

        async def connect() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                await connection.commit()
                await asyncio.sleep(0.1)

        await asyncio.gather(*(connect() for _ in range(5)))  # a warm pool at the start
        if redis is not None:
            await redis.ping()

        async def attempt(n: int) -> bool:
            ping_id = f"{tag}-{n}"
            if mode == "reserve" and not await ledger.reserve(
                ping_id, [charge], now + dt.timedelta(minutes=5), now
            ):
                return False
            async with sessions() as session:
                held_ping = ping_id if mode == "reserve" else None
                if not await ledger.commit(session, f"sale-{ping_id}", held_ping, [charge], now):
                    await session.rollback()
                    return False
                await session.commit()
            await ledger.after_commit(f"sale-{ping_id}", [charge])
            return True

        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return sum(await asyncio.gather(*(attempt(n) for n in range(attempts))))
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()


def main(argv: list[str]) -> None:
    url, redis_url, attempts, tag, limit, mode = argv
    sold = asyncio.run(race(url, redis_url, int(attempts), tag, int(limit), mode))
    print(json.dumps({"sold": sold}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
