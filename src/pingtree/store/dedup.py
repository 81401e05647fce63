"""Dedup history: HMACs of sold leads' phone numbers and emails, per buyer (DESIGN §8.2).

A key is :meth:`pingtree.store.secrets.PiiVault.index` of a normalized phone or email, so
the history holds no PII. Buyer id :data:`INBOUND` (``"*"``) is the inbound history: every
live lead a supplier sent, for campaigns that refuse duplicates from any supplier. Test
leads never enter the history (the flows' rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, DedupKey

__all__ = ["INBOUND", "DedupRepository"]

#: the table itself: a Core statement costs less than the ORM's bulk path (the sale's)
_DEDUPKEY = Base.metadata.tables[DedupKey.__tablename__]
_INSERT_KEYS = Prepared(insert(_DEDUPKEY), deferrable=True)

#: the buyer id of the inbound (any supplier) history
INBOUND = "*"


class DedupRepository:
    """Dedup keys in ``session``; never commits (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, buyer_id: str, key_hmacs: Sequence[str], since: dt.datetime) -> bool:
        """Whether any of ``key_hmacs`` was recorded for ``buyer_id`` at or after ``since``.
        No keys: ``False`` (no query)."""
        if not key_hmacs:
            return False
        params = {"buyer": buyer_id, "keys": sorted(set(key_hmacs)), "since": since}
        return bool(await _SEEN.rows(self._session, params))

    async def record(
        self, buyer_ids: Sequence[str], key_hmacs: Sequence[str], lead_id: str, now: dt.datetime
    ) -> None:
        """Remember that each of ``buyer_ids`` got lead ``lead_id`` with ``key_hmacs`` at
        ``now`` (one statement)."""
        if not key_hmacs or not buyer_ids:
            return
        await _INSERT_KEYS.run(
            self._session,
            [
                {"buyer_id": buyer_id, "key_hmac": key, "lead_id": lead_id, "created_at": now}
                for buyer_id in buyer_ids
                for key in sorted(set(key_hmacs))
            ],
        )

    async def last_sold(self, key_hmacs: Sequence[str]) -> dict[str, dt.datetime]:
        """Buyer id → when it last got a lead with any of ``key_hmacs`` (the inbound history
        left out): each order then applies its own dedup window. No keys: ``{}``."""
        if not key_hmacs:
            return {}
        rows = await _LAST_SOLD.rows(self._session, {"keys": sorted(set(key_hmacs))})
        return {buyer_id: last for buyer_id, last in rows}


# --- the sale path's reads, built once ----------------------------------------------------

_SEEN = Prepared(
    select(_DEDUPKEY.c.id)
    .where(
        _DEDUPKEY.c.buyer_id == bindparam("buyer"),
        _DEDUPKEY.c.key_hmac.in_(bindparam("keys", expanding=True)),
        _DEDUPKEY.c.created_at >= bindparam("since"),
    )
    .limit(1)
)
_LAST_SOLD = Prepared(
    select(_DEDUPKEY.c.buyer_id, func.max(_DEDUPKEY.c.created_at))
    .where(
        _DEDUPKEY.c.key_hmac.in_(bindparam("keys", expanding=True)),
        _DEDUPKEY.c.buyer_id != INBOUND,
    )
    .group_by(_DEDUPKEY.c.buyer_id)
)
