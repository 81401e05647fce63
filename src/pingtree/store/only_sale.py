"""The verdict that sells a lead's only sale, as one statement (DESIGN §8.6).

A post's verdict is usually this: the buyer took the lead, whose one sale this process made
and still has in hand. Everything the verdict writes is then known before it is written:
the outbox row's end, the sale's new status, the sale's two ledger entries and the lead's
answer. On PostgreSQL it goes as one statement of data-modifying ``WITH`` clauses, which
the server commits as it runs, all of it or none (``Transactions.run_one``): one round trip
instead of four (``BEGIN``, the row and its sale, the entries and the lead, ``COMMIT``).
Each write is conditional on the one before, as the transaction's steps were:

- the row, only if it is still ``was`` (a verdict that came first stands: nothing else
  is written);
- the sale, ``sold`` unless it is already, and its entries only when it became sold (each
  sale is booked once);
- the lead, once its row was finished, only if it is still ``pending``.

SQLite has no ``UPDATE`` in a ``WITH``: there the same writes are statements of one
transaction on the connection's thread, where a statement costs no round trip.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.ledger import entry_values, first_entries
from pingtree.store.outbox import FINISHING_WAS, OutboxRepository
from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, LedgerEntry, Sale
from pingtree.store.traffic import LeadAnswer, LeadRepository, finish_params, finishing_lead

__all__ = ["OnlySaleSold", "sell_only_sale"]


@dataclass(frozen=True)
class OnlySaleSold:
    """What the verdict's statement did."""

    #: the row was still ``was``, and is delivered now (else nothing was written)
    finished: bool
    #: the lead was still pending, and is settled with its answer now
    settled: bool


async def sell_only_sale(
    session: AsyncSession,
    sale: Sale,
    *,
    was: str,
    reason: str,
    redirect_url: str | None,
    lead: LeadAnswer,
    now: dt.datetime,
) -> OnlySaleSold:
    """The row of ``sale`` (as its sale's transaction wrote it: pending) delivered if it is
    still ``was``, the sale sold and booked, the lead settled with ``lead``'s answer, in
    ``session``'s transaction (see the module)."""
    if session.get_bind().dialect.name == "postgresql":
        params = {"to": "delivered", "why": reason, "redirect": redirect_url, "at": now}
        params |= {"sale": sale.id, "was": was}
        params |= finish_params(sale.lead_id, lead, now, first=True, prefix="lead_")
        for index, entry in enumerate(first_entries(sale)):
            params |= {f"e{index}_{key}": value for key, value in entry_values(entry).items()}
        done = await _SELL_ONLY_SALE.first(session, params)
        assert done is not None  # a SELECT of counts has its one row
        return OnlySaleSold(bool(done["finished"]), bool(done["settled"]))
    outbox = OutboxRepository(session)
    finished, _ = await outbox.finish_with_sale(
        sale.id, "delivered", reason, redirect_url, now, was=was, sale_status="sold"
    )  # which books the sale's entries when it became sold
    if not finished:
        return OnlySaleSold(False, False)
    leads = LeadRepository(session)
    settled = await leads.finish(sale.lead_id, lead, now, first=True)
    return OnlySaleSold(True, settled)


_SALE = Base.metadata.tables[Sale.__tablename__]
_ENTRY = Base.metadata.tables[LedgerEntry.__tablename__]


def _sell_only_sale() -> Prepared:
    """The statement (see the module): one row, how many rows were finished and settled."""
    finished = FINISHING_WAS.cte("finished")
    sold = (
        update(_SALE)
        .where(_SALE.c.id.in_(select(finished.c.sale_id)), _SALE.c.status != "sold")
        .values(status="sold")
        .returning(_SALE.c.id)
        .cte("sold")
    )
    columns = [column.key for column in _ENTRY.c]
    booked = [
        insert(_ENTRY)
        .from_select(
            columns,
            select(
                *(bindparam(f"e{index}_{key}", type_=_ENTRY.c[key].type) for key in columns)
            ).where(exists(select(sold.c.id))),
        )
        .cte(f"booked{index}")
        for index in range(2)  # a sale's first entries: its sale and its payout
    ]
    settled = (
        finishing_lead(auction=False, first=True, prefix="lead_")
        .where(exists(select(finished.c.sale_id)))
        .cte("settled")
    )
    return Prepared(
        select(
            select(func.count()).select_from(finished).scalar_subquery().label("finished"),
            select(func.count()).select_from(settled).scalar_subquery().label("settled"),
        ).add_cte(*booked)
    )


_SELL_ONLY_SALE = _sell_only_sale()
