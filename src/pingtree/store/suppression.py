"""Suppression lists: HMACs of phones and emails (``tables.SuppressionKey``), uploaded as
CSV and hashed at once with the server's key (``PiiVault.index``, as dedup keys are), so
no list is ever kept in clear."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.field_types import FieldValueError, canonical_email, canonical_phone
from pingtree.domain.verticals import FieldType
from pingtree.store.secrets import PiiVault
from pingtree.store.tables import Base, SuppressionKey

__all__ = ["ListSummary", "SuppressionRepository", "Upload", "suppression_keys"]

_TABLE = Base.metadata.tables[SuppressionKey.__tablename__]
#: rows inserted per statement
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Upload:
    """What a CSV held: the keys to store, and the lines that were neither a phone nor an
    email (by line number: the values themselves may be PII)."""

    keys: frozenset[str]
    bad_lines: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ListSummary:
    id: str
    entries: int
    updated_at: dt.datetime


def suppression_keys(text: str, vault: PiiVault) -> Upload:
    """The HMACs of a CSV's phones and emails: every cell is read, a cell with an ``@`` as
    an email, one of 10 digits (``+1`` and separators allowed) as a US phone; a header
    line (no cell of either kind) is skipped. Keys are those of ``store.lead_fields.
    dedup_keys``: a lead matches by its normalized phone or email. Raises ``ValueError``
    (naming the line) for text the csv module cannot read."""
    keys: set[str] = set()
    bad: list[int] = []
    rows = csv.reader(io.StringIO(text.replace("\0", "")))
    try:
        for number, row in enumerate(rows, start=1):
            found = False
            for cell in row:
                key = _key(cell, vault)
                if key is not None:
                    keys.add(key)
                    found = True
            if not found and any(cell.strip() for cell in row) and number > 1:
                bad.append(number)
    except csv.Error as exc:  # a cell past the csv module's size limit, a stray quote…
        raise ValueError(f"line {rows.line_num}: not CSV ({exc})") from None
    return Upload(frozenset(keys), tuple(bad))


def _key(cell: str, vault: PiiVault) -> str | None:
    cell = cell.strip()
    if not cell:
        return None
    try:
        if "@" in cell:
            return vault.index(f"{FieldType.EMAIL}:{canonical_email(cell)}")
        return vault.index(f"{FieldType.PHONE}:{canonical_phone(cell)}")
    except FieldValueError:
        return None


class SuppressionRepository:
    """Suppression keys in ``session``; never commits (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def matches(self, list_ids: Sequence[str], key_hmacs: Sequence[str]) -> list[str]:
        """The lists among ``list_ids`` holding any of ``key_hmacs``."""
        if not list_ids or not key_hmacs:
            return []
        found = await self._session.scalars(
            select(SuppressionKey.list_id)
            .where(
                SuppressionKey.list_id.in_(set(list_ids)),
                SuppressionKey.key_hmac.in_(set(key_hmacs)),
            )
            .distinct()
        )
        return sorted(found)

    async def add(self, list_id: str, keys: Iterable[str], now: dt.datetime) -> int:
        """Add ``keys`` to ``list_id`` (those already on it are kept); how many were new."""
        have = set(
            await self._session.scalars(
                select(SuppressionKey.key_hmac).where(SuppressionKey.list_id == list_id)
            )
        )
        new = sorted(set(keys) - have)
        for start in range(0, len(new), _CHUNK):
            await self._session.execute(
                insert(_TABLE),
                [
                    {"list_id": list_id, "key_hmac": key, "created_at": now}
                    for key in new[start : start + _CHUNK]
                ],
            )
        return len(new)

    async def remove_list(self, list_id: str) -> int:
        """Drop a whole list; how many entries it had."""
        result = await self._session.execute(
            delete(SuppressionKey).where(SuppressionKey.list_id == list_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def lists(self) -> list[ListSummary]:
        rows = await self._session.execute(
            select(
                SuppressionKey.list_id,
                func.count(),
                func.max(SuppressionKey.created_at),
            )
            .group_by(SuppressionKey.list_id)
            .order_by(SuppressionKey.list_id)
        )
        return [ListSummary(list_id, int(count), at) for list_id, count, at in rows]
