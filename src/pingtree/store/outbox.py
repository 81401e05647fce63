"""The outbox table: one row per sale to post to its buyer (DESIGN §8.4, §8.6).

A row is taken by a conditional update, so of many workers (or of the in-process dispatch
and the worker) exactly one sends it: ``queued`` → ``sending`` with a lease. The in-process
dispatch takes its own fresh rows at once; a worker takes only rows whose lease expired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.ledger import book_new_sales
from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, Delivery, Sale
from pingtree.store.traffic import SaleRepository

__all__ = ["FINISHING_WAS", "OPEN_STATUSES", "OutboxRepository"]

#: the table itself: a Core statement costs less than the ORM's bulk path (the sale's)
_DELIVERY = Base.metadata.tables[Delivery.__tablename__]

#: a row in one of these is not finished: its lead has no final answer yet
OPEN_STATUSES = ("queued", "sending")


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        sales: Sequence[tuple[str, str, str, str, str | None]],
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> None:
        """New rows, due now and leased to the process that wrote them for ``lease``: one
        per ``(sale id, lead id, order id, buyer id, the buyer's token)``."""
        if not sales:
            return
        await _INSERT_DELIVERY.run(
            self._session,
            [
                {
                    "sale_id": sale_id,
                    "lead_id": lead_id,
                    "order_id": order_id,
                    "buyer_id": buyer_id,
                    "status": "queued",
                    "tries": 0,
                    "due_at": now,
                    "lease_until": now + lease,
                    "token": token,
                    "redirect_url": None,
                    "reason": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for sale_id, lead_id, order_id, buyer_id, token in sales
            ],
        )

    async def take(
        self, sale_id: str, now: dt.datetime, lease_until: dt.datetime, *, own: bool
    ) -> Delivery | None:
        """Mark a queued row ``sending`` (one more try) for whoever calls; ``None`` if another
        took it or it is finished. ``own``: the caller holds the lease (its own dispatch), so
        an unexpired lease does not stop it."""
        taken = await (_TAKE_OWN if own else _TAKE_FREE).first(
            self._session, {"sale": sale_id, "at": now, "until": lease_until}
        )
        return Delivery(**taken) if taken is not None else None

    async def take_new(
        self, sale_ids: Sequence[str], now: dt.datetime, lease_until: dt.datetime
    ) -> list[Delivery]:
        """Mark these queued rows, which the caller's sale just wrote (and holds the lease
        of), ``sending`` for their first try, in one statement; the rows it took."""
        taken = await _TAKE_NEW.rows(
            self._session, {"sales": list(sale_ids), "at": now, "until": lease_until}
        )
        return [Delivery(**dict(zip(_TAKE_NEW.keys, row, strict=True))) for row in taken]

    async def retry_abandoned(self, sale_id: str, now: dt.datetime) -> bool:
        """Queue again, due now, a row left ``sending`` by a worker whose lease ran out (it
        died mid-post; its buyer dedupes on the Idempotency-Key, so a re-send is safe).
        ``True`` for the one caller that gets it."""
        result = await self._session.execute(
            update(_DELIVERY)
            .where(*_abandoned(sale_id, now))
            .values(
                status="queued",
                due_at=now,
                lease_until=now,
                reason="worker stopped mid-post",
                updated_at=now,
            )
            .returning(_DELIVERY.c.sale_id)
        )
        return result.first() is not None

    async def retry_later(
        self, sale_id: str, due_at: dt.datetime, lease_until: dt.datetime, reason: str
    ) -> None:
        """Back to ``queued`` until ``due_at``, leased (to the caller, who waits for it)."""
        await self._session.execute(
            update(_DELIVERY)
            .where(_DELIVERY.c.sale_id == sale_id)
            .values(
                status="queued",
                due_at=due_at,
                lease_until=lease_until,
                reason=reason,
                updated_at=due_at,
            )
        )

    async def finish(
        self,
        sale_id: str,
        status: str,
        reason: str,
        redirect_url: str | None,
        now: dt.datetime,
        *,
        was: str,
        abandoned: bool = False,
    ) -> bool:
        """The row's verdict, if it is still ``was`` (and, ``abandoned``, left by a worker
        whose lease ran out): ``False`` when another got there first (a worker, an
        operator), whose verdict stands."""
        verdict: dict[str, Any] = {"to": status, "why": reason, "redirect": redirect_url, "at": now}
        if abandoned:
            query = _FINISH.where(*_abandoned(sale_id, now))
            return (await self._session.execute(query, verdict)).first() is not None
        return bool(await _FINISH_WAS.rows(self._session, verdict | {"sale": sale_id, "was": was}))

    async def finish_with_sale(
        self,
        sale_id: str,
        status: str,
        reason: str,
        redirect_url: str | None,
        now: dt.datetime,
        *,
        was: str,
        abandoned: bool = False,
        sale_status: str,
    ) -> tuple[bool, Sale | None]:
        """:meth:`finish` the row, and if it was finished give its sale its new status as
        :meth:`SaleRepository.set_status` would: whether the row was finished, and the sale
        as it now stands (``None`` when it was sold already). On PostgreSQL, a row still
        ``was`` (not ``abandoned``) is one statement, one round trip for both."""
        if abandoned or self._session.get_bind().dialect.name != "postgresql":
            # an abandoned row's conditions hold its lease; SQLite has no UPDATE in a WITH
            if not await self.finish(
                sale_id, status, reason, redirect_url, now, was=was, abandoned=abandoned
            ):
                return False, None
            return True, await SaleRepository(self._session).set_status(sale_id, sale_status)
        params = {"to": status, "why": reason, "redirect": redirect_url, "at": now}
        params |= {"sale": sale_id, "was": was, "sale_to": sale_status}
        query = _FINISH_AND_SELL if sale_status == "sold" else _FINISH_AND_SET
        row = await query.first(self._session, params)
        if row is None:
            return False, None
        if row["id"] is None:
            return True, None
        sale = Sale(**{column.key: row[column.key] for column in _SALE.c})
        if sale_status == "sold":
            await book_new_sales(self._session, [sale])
        return True, sale

    async def due(self, now: dt.datetime, limit: int = 100) -> list[tuple[str, str]]:
        """``(sale id, status)`` of the rows a worker should act on: queued and due with no
        live lease, or ``sending`` with an expired lease."""
        free = or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now)
        rows = await self._session.execute(
            select(Delivery.sale_id, Delivery.status)
            .where(
                or_(
                    and_(Delivery.status == "queued", Delivery.due_at <= now, free),
                    and_(Delivery.status == "sending", Delivery.lease_until <= now),
                )
            )
            .order_by(Delivery.due_at)
            .limit(limit)
        )
        return [(sale_id, status) for sale_id, status in rows]

    async def for_lead(self, lead_id: str) -> Sequence[Delivery]:
        rows = await self._session.execute(
            select(Delivery).where(Delivery.lead_id == lead_id).order_by(Delivery.created_at)
        )
        return rows.scalars().all()

    async def get(self, sale_id: str) -> Delivery | None:
        return await self._session.get(Delivery, sale_id)


def _abandoned(sale_id: str, now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    """A row left ``sending`` by a worker whose lease ran out."""
    row = _DELIVERY.c
    return (row.sale_id == sale_id, row.status == "sending", row.lease_until <= now)


# --- a delivery's statements, built once (executed with their parameters) ------------------

_INSERT_DELIVERY = Prepared(insert(_DELIVERY), deferrable=True)

#: queued rows marked ``sending`` for one more try, leased (the caller says which)
_TAKING = (
    update(_DELIVERY)
    .where(_DELIVERY.c.status == "queued")
    .values(
        status="sending",
        tries=_DELIVERY.c.tries + 1,
        lease_until=bindparam("until"),
        updated_at=bindparam("at"),
    )
    .returning(*_DELIVERY.c)
)
#: one row, for a caller that holds its lease
_TAKE = _TAKING.where(_DELIVERY.c.sale_id == bindparam("sale"))
_TAKE_OWN = Prepared(_TAKE)
#: the same, for a caller that does not hold the row's lease: only once it is free
_TAKE_FREE = Prepared(
    _TAKE.where(or_(_DELIVERY.c.lease_until.is_(None), _DELIVERY.c.lease_until <= bindparam("at")))
)
#: a sale's new rows, for the process that wrote them
_TAKE_NEW = Prepared(_TAKING.where(_DELIVERY.c.sale_id.in_(bindparam("sales", expanding=True))))

#: a row's verdict (its conditions added by the caller)
_FINISH = (
    update(_DELIVERY)
    .values(
        status=bindparam("to"),
        reason=bindparam("why"),
        redirect_url=bindparam("redirect"),
        lease_until=None,
        updated_at=bindparam("at"),
    )
    .returning(_DELIVERY.c.sale_id)
)
#: a row's verdict, if the row is still ``was``: its sale id (parameters ``to``, ``why``,
#: ``redirect``, ``at``, ``sale``, ``was``)
FINISHING_WAS = _FINISH.where(
    _DELIVERY.c.sale_id == bindparam("sale"), _DELIVERY.c.status == bindparam("was")
)
_FINISH_WAS = Prepared(FINISHING_WAS)


def _finish_and_set(*, sell: bool) -> Prepared:
    """A row's verdict if it is still ``was`` (:data:`_FINISH_WAS`) and, if it was given,
    its sale's new status (``sale_to``; a sale to be sold only if it is not sold already),
    in one statement: a row if the verdict was given, with the sale's columns, NULL when
    the sale did not change."""
    finished = FINISHING_WAS.cte("finished")
    changed = (
        update(_SALE)
        .where(_SALE.c.id.in_(select(finished.c.sale_id)))
        .values(status=bindparam("sale_to"))
        .returning(*_SALE.c)
    )
    if sell:
        changed = changed.where(_SALE.c.status != "sold")
    sale = changed.cte("sale")
    return Prepared(
        select(finished.c.sale_id.label("finished"), *sale.c).select_from(
            finished.outerjoin(sale, true())
        )
    )


_SALE = Base.metadata.tables[Sale.__tablename__]
_FINISH_AND_SELL = _finish_and_set(sell=True)
_FINISH_AND_SET = _finish_and_set(sell=False)
