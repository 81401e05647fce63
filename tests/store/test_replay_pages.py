"""The stored pings a replay reads (issue 17, ``store.replay_pings``), on SQLite and
PostgreSQL: a period in pages, oldest first, pings of one moment kept in id order across a
page's end, one campaign's as the whole traffic's; and a replay of them that gives the same
report whichever way it is told."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.apply import apply_config
from pingtree.config.parse import dump_yaml
from pingtree.demo.market import demo_document
from pingtree.demo.stored_traffic import traffic_rows
from pingtree.flows.whatif import WhatIf, what_if
from pingtree.store.replay_pings import stored_pages
from pingtree.store.tables import Base, Ping

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


async def store(
    sessions: async_sessionmaker[AsyncSession], pings: int, **options: Any
) -> list[dict[str, Any]]:
    doc = demo_document("http://127.0.0.1:9")
    await apply_config(sessions, doc, START)
    rows = await traffic_rows(doc, 1, pings, 1.0, START, **options)
    return rows


async def insert(sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    async with sessions.begin() as session:
        await session.execute(Base.metadata.tables[Ping.__tablename__].insert(), rows)


async def test_pings_of_one_moment_are_paged_in_id_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rows = await store(sessions, 40)
    for i, row in enumerate(rows):
        # runs of five pings share a moment, and their ids run backwards
        row["created_at"] = START + dt.timedelta(seconds=i // 5)
        row["id"] = f"{1000 - i:08d}-moment"
    await insert(sessions, rows)
    pages = [[p.id for p in page] async for page in stored_pages(sessions, START, page_size=3)]
    order = [r["id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]))]
    assert [len(page) for page in pages] == [3] * 13 + [1]
    assert [ping for page in pages for ping in page] == order


async def test_one_campaign_s_pings_are_paged_as_the_whole_traffic_s(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await insert(sessions, await store(sessions, 60))
    whole = [
        ping.id
        async for page in stored_pages(sessions, START)
        for ping in page
        if ping.campaign_id == "harborview_health"
    ]
    pages = [
        page
        async for page in stored_pages(
            sessions, START, campaign_id="harborview_health", page_size=4
        )
    ]
    assert 10 < len(whole) < 50
    assert [ping.id for page in pages for ping in page] == whole
    assert [len(page) for page in pages][:-1] == [4] * (len(pages) - 1)


async def test_a_raised_floor_gives_one_report_however_it_is_told(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # the health vertical, left alone, counted by money, told one by one, and run
    await insert(sessions, await store(sessions, 400, caps=True))
    draft: dict[str, Any] = yaml.safe_load(dump_yaml(demo_document("http://127.0.0.1:9")))
    for buyer in draft["buyers"]:
        for order in buyer["orders"]:
            if order["id"] == "rapid_auto_live":
                order["pricing"]["floor"] = "25.00"
    text, until = yaml.safe_dump(draft), START + dt.timedelta(days=1)
    reports: list[WhatIf] = [
        await what_if(sessions, text, START, until),
        await what_if(sessions, text, START, until, money_only=False),
        await what_if(sessions, text, START, until, shortcuts=False),
    ]
    found = [report.to_json(traces=True) for report in reports]
    for data in found:
        del data["elapsed_ms"], data["auctions"]
    assert found[0] == found[1] == found[2]
    assert reports[0].changed > 0
    assert reports[0].money_only > 100
