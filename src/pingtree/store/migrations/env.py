"""Alembic's entry point: migrate the connection given by :func:`migrate`, or (from the
``alembic`` command line) the database of ``PINGTREE_DATABASE_URL``."""

from __future__ import annotations

import asyncio
import logging.config
import os
from pathlib import Path
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from pingtree.store.migrations import run_locked
from pingtree.store.tables import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # a migration is frozen history: it spells the plain column type, not today's Python
    # wrapper (which only converts values and may change)
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "render_as_batch": True,
    "compare_type": True,
    "render_item": _render_item,
}


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("PINGTREE_DATABASE_URL")
    if url:
        return url
    data_dir = Path(os.environ.get("PINGTREE_DATA_DIR", "data"))
    return f"sqlite+aiosqlite:///{(data_dir / 'pingtree.db').resolve()}"


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    context.configure(url=_url(), literal_binds=True, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # from migrate(): the caller owns the transaction and lock
        _run_on(connection)
        return
    if config.config_file_name is not None:  # the command line: its logging, not the app's
        logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        _run_offline()
    else:
        asyncio.run(run_locked(_url(), _run_on))


_main()
