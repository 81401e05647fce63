"""The pings' writer: a ping's answer never waits on the database (DESIGN §8.4).

The flow hands the row over and answers; one background task per process inserts what has
queued up in one transaction (group commit: the busier the process, the bigger the batch;
see :mod:`pingtree.store.batch_writer` for what happens to a row the database refuses and
to a backlog past high water). Until then the ping lives here, so everyone who needs it
by id sees it: a post reads it here and takes it, to store it claimed with its sale
(:meth:`~pingtree.store.batch_writer.BatchWriter.take`), or waits for
:meth:`PingWriter.settled` (which ends the writer's linger) before claiming one being
written; a repeated ping looks here before the database.

A ping is a price quote, not a lead: one lost to a crash in the milliseconds before its
batch commits costs a quote the seller can no longer post (``ping_unknown``), never a lead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table

from pingtree.store.batch_writer import BatchWriter
from pingtree.store.tables import Ping
from pingtree.store.transactions import Transactions

__all__ = ["PingWriter"]

_COLUMNS = tuple(Ping.__table__.columns.keys())
_TABLE: Table = Ping.__table__  # type: ignore[assignment]


def _key(row: dict[str, Any]) -> str:
    return str(row["id"])


def _same(row: dict[str, Any]) -> dict[str, Any]:
    return row


class PingWriter(BatchWriter[dict[str, Any]]):
    """Pings queued by id, written in batches. ``wait_seconds`` bounds every wait on it
    (:meth:`settled`, :meth:`drained`); ``high_water`` is where it reports :attr:`behind`."""

    def __init__(
        self,
        transactions: Transactions,
        max_batch: int = 2000,
        *,
        high_water: int = 10_000,
        wait_seconds: float = 5.0,
    ) -> None:
        super().__init__(
            "ping-writer",
            transactions,
            _TABLE,
            key=_key,
            to_row=_same,
            max_batch=max_batch,
            linger=0.01,
            high_water=high_water,
        )
        self._wait_seconds = wait_seconds

    def add(self, ping: Mapping[str, Any]) -> None:
        """Queue a new ping: its ``pings`` columns by name (those not given are NULL)."""
        super().add({column: ping.get(column) for column in _COLUMNS})

    async def settled(self, ping_id: str, seconds: float | None = None) -> None:
        """Return once ``ping_id`` is in the database (or set aside), if this
        process is writing it. Raises :class:`~pingtree.store.batch_writer.WriterBehind`
        past ``seconds`` (default: the writer's ``wait_seconds``): the post answers 503."""
        await super().settled(ping_id, self._wait_seconds if seconds is None else seconds)

    async def drained(self, seconds: float | None = None) -> None:
        """Return once every ping queued before the call is in the database; raises
        :class:`~pingtree.store.batch_writer.WriterBehind` past ``seconds``."""
        await super().drained(self._wait_seconds if seconds is None else seconds)

    def repeat(self, campaign_id: str, key: str, now: dt.datetime) -> dict[str, Any] | None:
        """The answer of a queued, unexpired ping with this idempotency key, if any."""
        for row in self.queued():
            if (
                row["campaign_id"] == campaign_id
                and row["idempotency_key"] == key
                and row["expires_at"] > now
            ):
                return dict(row["answer"])
        return None
