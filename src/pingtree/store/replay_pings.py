"""The stored pings a replay re-runs (``flows.replay``): live traffic of a period, oldest
first, read in pages so a week of traffic never sits in one result set.

A ping's auction is read from its replay line (:func:`replay_line`, written with the
ping): the auction's JSON without the walk's copy of the fields, which is most of its
text and which a replay never reads. A ping stored before the line existed is read from
its whole auction, which has the same keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import String, Text, cast, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.tables import Base, Ping

__all__ = ["StoredPing", "count_stored_pings", "replay_line", "stored_pages", "stored_pings"]

_PING = Base.metadata.tables[Ping.__tablename__]
_PAGE = 2000


class StoredPing:
    """What a replay needs of one ping: its fields (never PII), moment and auction.

    ``fields`` and ``reasons`` may be given as the stored JSON text: they are decoded when
    first read (most pings of a replay are told from their auction and never need them)."""

    __slots__ = (
        "_fields",
        "_reasons",
        "auction",
        "campaign_id",
        "created_at",
        "id",
        "posted",
        "status",
    )

    def __init__(
        self,
        id: str,
        campaign_id: str,
        status: str,
        reasons: list[Any] | str | bytes | None,
        fields: dict[str, Any] | str | bytes,
        auction: dict[str, Any],
        created_at: dt.datetime,
        posted: bool,
    ) -> None:
        self.id = id
        self.campaign_id = campaign_id
        self.status = status
        self._reasons = reasons
        self._fields = fields
        self.auction = auction
        self.created_at = created_at
        #: whether a post made a lead of it (only those consume cap room in a replay)
        self.posted = posted

    @property
    def fields(self) -> dict[str, Any]:
        found = self._fields
        if not isinstance(found, dict):
            found = self._fields = _object(found)
        return found

    @property
    def reasons(self) -> list[Any]:
        found = self._reasons
        if not isinstance(found, list):
            said = orjson.loads(found) if found else None
            found = self._reasons = said if isinstance(said, list) else []
        return found


def replay_line(auction: dict[str, Any]) -> str | None:
    """A ping's stored ``auction`` as a replay reads it (the ``replay_line`` column): the
    same JSON without the walk's lead (its copy of the fields) and the tokens; ``walked``
    kept as ``true`` (the auction walked: its stored ranking is the walk's). ``None`` for a
    ping with no auction."""
    if not auction:
        return None
    line = {key: value for key, value in auction.items() if key not in _NOT_REPLAYED}
    if "walked" in auction:
        line["walked"] = True
    return orjson.dumps(line).decode()


#: what a replay never reads of a stored auction
_NOT_REPLAYED = frozenset({"walked", "tokens"})


def _object(text: str | bytes | None) -> dict[str, Any]:
    found = orjson.loads(text) if text else None
    return found if isinstance(found, dict) else {}


async def stored_pings(
    sessions: async_sessionmaker[AsyncSession],
    since: dt.datetime,
    until: dt.datetime | None = None,
    campaign_id: str | None = None,
) -> AsyncIterator[StoredPing]:
    """Live (not test) pings created from ``since`` to ``until`` (both included), oldest
    first."""
    async for page in stored_pages(sessions, since, until, campaign_id):
        for ping in page:
            yield ping


async def stored_pages(
    sessions: async_sessionmaker[AsyncSession],
    since: dt.datetime,
    until: dt.datetime | None = None,
    campaign_id: str | None = None,
    *,
    page_size: int = _PAGE,
) -> AsyncIterator[list[StoredPing]]:
    """:func:`stored_pings` a page (of ``page_size``) at a time: a replay's loop resumes
    no generator per ping."""
    async with sessions() as session:
        sqlite = session.get_bind().dialect.name == "sqlite"
    # the JSON columns read as their text and decoded here (the fields only when needed);
    # SQLite's moments as their text too, read by the C parser, not SQLAlchemy's pattern
    created_at = type_coerce(_PING.c.created_at, String) if sqlite else _PING.c.created_at
    columns = (
        _PING.c.id,
        _PING.c.campaign_id,
        _PING.c.status,
        cast(_PING.c.reasons, Text),
        cast(_PING.c.fields, Text),
        # the replay line, or the whole auction of a ping stored before lines were
        func.coalesce(_PING.c.replay_line, cast(_PING.c.auction, Text)),
        created_at,
        _PING.c.lead_id,
    )
    loads = orjson.loads

    async def fetch(after: tuple[dt.datetime, str] | None) -> list[Any]:
        # the page starts at the last one's moment, a plain range the index seeks to:
        # with ``since`` as the range and the keyset's "or" beside it, SQLite's plan read
        # the index from ``since`` on every page (a week's read grew quadratic)
        query = select(*columns).where(
            _PING.c.test.is_(False), _PING.c.created_at >= (since if after is None else after[0])
        )
        if until is not None:
            query = query.where(_PING.c.created_at <= until)
        if campaign_id is not None:
            # compared as an expression, not by its index: on the campaign's index a
            # page was every ping the campaign ever had, sorted (a week's replay of one
            # campaign took 28 s against 3 s for the whole); on the moments' index it
            # reads at most the period's pings
            query = query.where(_PING.c.campaign_id.concat("") == campaign_id)
        if after is not None:
            query = query.where((_PING.c.created_at > after[0]) | (_PING.c.id > after[1]))
        query = query.order_by(_PING.c.created_at, _PING.c.id).limit(page_size)
        async with sessions() as session:
            return list((await session.execute(query)).all())

    after: tuple[dt.datetime, str] | None = None
    while True:
        rows = await fetch(after)
        page: list[StoredPing] = []
        for ping_id, campaign, status, reasons, fields, auction, created, lead_id in rows:
            found = loads(auction) if auction else None
            page.append(
                StoredPing(
                    ping_id,
                    campaign,
                    status,
                    reasons,
                    fields or "",
                    found if isinstance(found, dict) else {},
                    _moment(created),
                    lead_id is not None,
                )
            )
        if page:
            after = (page[-1].created_at, page[-1].id)
            yield page
        if len(rows) < page_size:
            return


def _moment(created: dt.datetime | str) -> dt.datetime:
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    if created.tzinfo is None:  # SQLite keeps naive UTC
        created = created.replace(tzinfo=dt.UTC)
    return created


async def count_stored_pings(
    sessions: async_sessionmaker[AsyncSession],
    since: dt.datetime,
    until: dt.datetime | None = None,
    campaign_id: str | None = None,
    at_most: int = 10_000,
) -> int:
    """How many pings :func:`stored_pings` would give, counted up to ``at_most``."""
    query = select(_PING.c.id).where(_PING.c.test.is_(False), _PING.c.created_at >= since)
    if until is not None:
        query = query.where(_PING.c.created_at <= until)
    if campaign_id is not None:
        query = query.where(_PING.c.campaign_id == campaign_id)
    counted = select(func.count()).select_from(query.limit(at_most).subquery())
    async with sessions() as session:
        return int((await session.execute(counted)).scalar_one())
