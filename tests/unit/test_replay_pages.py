"""The stored pings a replay reads (issue 17, ``store.replay_pings``): a period in pages,
oldest first, pings of one moment kept in id order across a page's end."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from pingtree.config.apply import apply_config
from pingtree.demo.market import demo_document
from pingtree.demo.stored_traffic import traffic_rows
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.replay_pings import stored_pages
from pingtree.store.tables import Base, Ping

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def test_pings_of_one_moment_are_paged_in_id_order(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pages.db'}"

    async def run() -> tuple[list[list[str]], list[str]]:
        await migrate(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        try:
            doc = demo_document("http://127.0.0.1:9")
            await apply_config(sessions, doc, START)
            rows = await traffic_rows(doc, 1, 40, 1.0, START)
            for i, row in enumerate(rows):
                # runs of five pings share a moment, and their ids run backwards
                row["created_at"] = START + dt.timedelta(seconds=i // 5)
                row["id"] = f"{1000 - i:08d}-moment"
            async with sessions.begin() as session:
                await session.execute(Base.metadata.tables[Ping.__tablename__].insert(), rows)
            pages = [
                [ping.id for ping in page]
                async for page in stored_pages(sessions, START, page_size=3)
            ]
        finally:
            await engine.dispose()
        order = [r["id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]))]
        return pages, order

    pages, order = asyncio.run(run())
    assert [len(page) for page in pages] == [3] * 13 + [1]
    assert [ping for page in pages for ping in page] == order


def test_one_campaign_s_pings_are_paged_as_the_whole_traffic_s(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'campaign.db'}"

    async def run() -> tuple[list[str], list[str], list[int]]:
        await migrate(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        try:
            doc = demo_document("http://127.0.0.1:9")
            await apply_config(sessions, doc, START)
            rows = await traffic_rows(doc, 1, 60, 1.0, START)
            async with sessions.begin() as session:
                await session.execute(Base.metadata.tables[Ping.__tablename__].insert(), rows)
            whole = [
                ping.id
                for page in [p async for p in stored_pages(sessions, START)]
                for ping in page
                if ping.campaign_id == "harborview_health"
            ]
            pages = [
                page
                async for page in stored_pages(
                    sessions, START, campaign_id="harborview_health", page_size=4
                )
            ]
        finally:
            await engine.dispose()
        return whole, [ping.id for page in pages for ping in page], [len(p) for p in pages]

    whole, paged, sizes = asyncio.run(run())
    assert 10 < len(whole) < 50
    assert paged == whole
    assert sizes[:-1] == [4] * (len(sizes) - 1)
