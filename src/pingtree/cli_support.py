"""What every ``pingtree`` command shares: the database flags, the settings they make, and a
short-lived engine for a command's work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.settings import Settings
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate as run_migrations

if TYPE_CHECKING:
    from pingtree.config.schema import ConfigDocument

__all__ = ["DataDir", "DatabaseUrl", "settings_from", "stored_document", "with_sessions"]

T = TypeVar("T")

DataDir = Annotated[
    Path | None, typer.Option(help="data directory [env PINGTREE_DATA_DIR, default ./data]")
]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="database URL [env PINGTREE_DATABASE_URL, default SQLite]")
]


def settings_from(data_dir: Path | None, database_url: str | None, **extra: object) -> Settings:
    # flags win over the environment; the environment fills the rest
    overrides: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    return Settings(**overrides)  # type: ignore[arg-type]


def with_sessions(
    settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    async def run() -> T:
        url = settings.resolved_database_url()
        await run_migrations(url)
        engine = create_engine(url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def stored_document(sessions: async_sessionmaker[AsyncSession]) -> ConfigDocument:
    """The configuration as stored (``pingtree key create`` checks a campaign in it, ``erase``
    compiles its verticals)."""
    from pingtree.store.config_repo import ConfigRepository

    async with sessions() as session:
        return await ConfigRepository(session).load_document()
