"""Scorecards: how one buyer or one supplier has done over a range ``[start, end)``, from
the delivery log, the sales, the returns and the dispositions (issue 14).

A **buyer**'s, from the ``attempts`` of its endpoints (timed by their ``started_at``):

- pings sent (not those skipped before sending: ``skipped_slow``, ``throttled``,
  ``circuit_open``), their latency's p50, p90 and p99, timeouts and errors;
- bids (pings answered with a price) and **wins**: bids whose ping's lead was then sold to
  the same order (a sale of any later status). A won ping whose seller never posted has no
  lead, so it is no win here: the win rate is "bids that bought a lead";
- posts: each sale posted to it counts once however many tries it took, and is accepted
  if a try was; every post try's failure by kind (:data:`POST_FAILURES`);
- from the sales made in the range (live traffic only), the sold ones and their approved
  returns.

A **supplier**'s, over its live traffic: pings and accepted pings by their
``created_at``, leads, posts (leads after a ping) and sold leads (``sold`` or later
``returned``) by the lead's ``created_at``, and the returns of its sales made in the range.
No money: a supplier reads its own scorecard.

Percentiles are the nearest rank (the smallest duration at or above that share of pings),
computed in SQL with window functions, which SQLite (3.25+) and PostgreSQL compute alike,
as :mod:`pingtree.store.response_times` does. Everything is counted in SQL as integers;
rates are ``float`` in ``[0, 1]``, ``None`` with nothing to divide by.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.response_times import is_error, is_timeout
from pingtree.store.tables import AttemptRow, Lead, Ping, Return, Sale

__all__ = [
    "NOT_SENT",
    "POST_FAILURES",
    "BuyerScorecard",
    "SupplierScorecard",
    "buyer_scorecard",
    "ratio",
    "supplier_scorecard",
]

#: a ping attempt's outcomes for a request never sent (the order was skipped)
NOT_SENT = ("skipped_slow", "throttled", "circuit_open")
#: the kinds a post try that was not accepted falls in, in the order they are told apart:
#: the buyer said no; no answer in time; an HTTP 5xx; a 429; no connection; the connection
#: reset after sending; an answer that could not be read; the request could not be built
POST_FAILURES = (
    "rejected",
    "timeout",
    "http_5xx",
    "http_429",
    "connect",
    "reset",
    "unreadable",
    "not_sent",
)
#: the sale status of a sale that stands; a ``returned`` lead had one
_SOLD = "sold"
_SOLD_LEADS = ("sold", "returned")


def ratio(part: int, whole: int) -> float | None:
    """``part ÷ whole``, ``None`` when ``whole`` is 0."""
    return part / whole if whole else None


@dataclass(frozen=True)
class BuyerScorecard:
    buyer_id: str
    #: pings sent to its endpoints, and how they went
    pings: int
    p50_ms: int | None
    p90_ms: int | None
    p99_ms: int | None
    ping_timeouts: int
    ping_errors: int
    bids: int
    wins: int
    #: sales posted to it (each once), and those it accepted
    posts: int
    posts_accepted: int
    #: post tries, accepted or failed by kind (:data:`POST_FAILURES`, zero ones included)
    post_tries: int
    post_failures: dict[str, int]
    #: its sales in the range that stand, and the approved returns of those
    sold: int
    returned: int

    @property
    def bid_rate(self) -> float | None:
        """Bids ÷ pings sent."""
        return ratio(self.bids, self.pings)

    @property
    def win_rate(self) -> float | None:
        """Wins ÷ bids."""
        return ratio(self.wins, self.bids)

    @property
    def accepted_rate(self) -> float | None:
        """Posts accepted ÷ posts sent after winning."""
        return ratio(self.posts_accepted, self.posts)

    @property
    def return_rate(self) -> float | None:
        """Approved returns ÷ sold sales."""
        return ratio(self.returned, self.sold)


@dataclass(frozen=True)
class SupplierScorecard:
    supplier_id: str
    pings: int
    accepted_pings: int
    leads: int
    #: leads posted after a ping (the others were direct posts)
    posts: int
    sold_leads: int
    #: its sales in the range that stand, and the approved returns of those
    sold: int
    returned: int

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted pings ÷ pings."""
        return ratio(self.accepted_pings, self.pings)

    @property
    def ping_to_post(self) -> float | None:
        """Posts ÷ accepted pings."""
        return ratio(self.posts, self.accepted_pings)

    @property
    def sell_rate(self) -> float | None:
        """Sold leads ÷ leads."""
        return ratio(self.sold_leads, self.leads)

    @property
    def return_rate(self) -> float | None:
        """Approved returns ÷ sold sales."""
        return ratio(self.returned, self.sold)


async def buyer_scorecard(
    session: AsyncSession, buyer_id: str, start: dt.datetime, end: dt.datetime
) -> BuyerScorecard:
    """``buyer_id``'s scorecard over ``[start, end)``: zeros and ``None`` percentiles when
    nothing was sent to it."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    pings = await _ping_figures(session, buyer_id, start, end)
    wins = await _wins(session, buyer_id, start, end)
    posts, accepted = await _posts(session, buyer_id, start, end)
    tries, failures = await _post_failures(session, buyer_id, start, end)
    sold, returned = await _returns(session, Sale.buyer_id == buyer_id, start, end)
    return BuyerScorecard(
        buyer_id=buyer_id,
        **pings,
        wins=wins,
        posts=posts,
        posts_accepted=accepted,
        post_tries=tries,
        post_failures=failures,
        sold=sold,
        returned=returned,
    )


async def supplier_scorecard(
    session: AsyncSession, supplier_id: str, start: dt.datetime, end: dt.datetime
) -> SupplierScorecard:
    """``supplier_id``'s scorecard over ``[start, end)`` (live traffic): zeros when it sent
    nothing."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    pinged = (
        await session.execute(
            select(func.count(), _count(Ping.status == "accepted")).where(
                Ping.supplier_id == supplier_id,
                Ping.test.is_(False),
                Ping.created_at >= start,
                Ping.created_at < end,
            )
        )
    ).one()
    leads = (
        await session.execute(
            select(
                func.count(),
                _count(Lead.ping_id.is_not(None)),
                _count(Lead.status.in_(_SOLD_LEADS)),
            ).where(
                Lead.supplier_id == supplier_id,
                Lead.test.is_(False),
                Lead.created_at >= start,
                Lead.created_at < end,
            )
        )
    ).one()
    sold, returned = await _returns(session, Sale.supplier_id == supplier_id, start, end)
    return SupplierScorecard(
        supplier_id=supplier_id,
        pings=int(pinged[0]),
        accepted_pings=int(pinged[1]),
        leads=int(leads[0]),
        posts=int(leads[1]),
        sold_leads=int(leads[2]),
        sold=sold,
        returned=returned,
    )


# --- the buyer's queries -------------------------------------------------------------------------


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.count(case((condition, 1)))


def _attempts(buyer_id: str, kind: str, start: dt.datetime, end: dt.datetime) -> list[Any]:
    return [
        AttemptRow.buyer_id == buyer_id,
        AttemptRow.kind == kind,
        AttemptRow.started_at >= start,
        AttemptRow.started_at < end,
    ]


async def _ping_figures(
    session: AsyncSession, buyer_id: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    sent = (
        select(
            AttemptRow.duration_ms,
            AttemptRow.outcome,
            AttemptRow.error,
            func.row_number().over(order_by=AttemptRow.duration_ms).label("nth"),
            func.count().over().label("n"),
        )
        .where(*_attempts(buyer_id, "ping", start, end), AttemptRow.outcome.not_in(NOT_SENT))
        .subquery()
    )
    c = sent.c

    def at_rank(percent: int) -> ColumnElement[Any]:
        # the nearest rank of share p among n is ceil(p·n), in integers
        return func.max(case((c.nth == (c.n * percent + 99) // 100, c.duration_ms)))

    row = (
        await session.execute(
            select(
                func.count(),
                at_rank(50),
                at_rank(90),
                at_rank(99),
                _count(is_timeout(c.outcome, c.error)),
                _count(is_error(c.outcome, c.error)),
                _count(c.outcome == "bid"),
            )
        )
    ).one()
    pings, p50, p90, p99, timeouts, errors, bids = row
    return {
        "pings": int(pings),
        "p50_ms": None if p50 is None else int(p50),
        "p90_ms": None if p90 is None else int(p90),
        "p99_ms": None if p99 is None else int(p99),
        "ping_timeouts": int(timeouts),
        "ping_errors": int(errors),
        "bids": int(bids),
    }


async def _wins(session: AsyncSession, buyer_id: str, start: dt.datetime, end: dt.datetime) -> int:
    """Bids whose ping's lead was sold to the order that bid."""
    won = (
        select(AttemptRow.id)
        .join(Lead, Lead.ping_id == AttemptRow.ping_id)
        .join(Sale, and_(Sale.lead_id == Lead.id, Sale.order_id == AttemptRow.order_id))
        .where(*_attempts(buyer_id, "ping", start, end), AttemptRow.outcome == "bid")
        .group_by(AttemptRow.id)
        .subquery()
    )
    return int((await session.execute(select(func.count()).select_from(won))).scalar_one())


async def _posts(
    session: AsyncSession, buyer_id: str, start: dt.datetime, end: dt.datetime
) -> tuple[int, int]:
    """Sales posted (a lead and an order, however many tries) and those accepted."""
    per_sale = (
        select(func.max(case((AttemptRow.outcome == "accepted", 1), else_=0)).label("ok"))
        .where(*_attempts(buyer_id, "post", start, end))
        .group_by(AttemptRow.lead_id, AttemptRow.order_id)
        .subquery()
    )
    posts, accepted = (
        await session.execute(select(func.count(), func.coalesce(func.sum(per_sale.c.ok), 0)))
    ).one()
    return int(posts), int(accepted)


def _failure_kind() -> ColumnElement[Any]:
    """A post try's kind of failure (``None`` when accepted), read from its outcome
    (``delivery.poster.PostVerdict``), HTTP status and error."""
    outcome, status, error = AttemptRow.outcome, AttemptRow.status, AttemptRow.error
    return case(
        (outcome == "accepted", None),
        (outcome == "rejected", "rejected"),
        (is_timeout(outcome, error), "timeout"),
        (status >= 500, "http_5xx"),
        (status == 429, "http_429"),
        (or_(outcome == "failed", error.like("could not build%")), "not_sent"),
        (error.like("connect%"), "connect"),
        (error.like("reset%"), "reset"),
        else_="unreadable",
    )


async def _post_failures(
    session: AsyncSession, buyer_id: str, start: dt.datetime, end: dt.datetime
) -> tuple[int, dict[str, int]]:
    """Post tries, and the failed ones by kind (every kind, zero or not)."""
    # grouped by the subquery's column: PostgreSQL would not match the CASE's parameters
    tried = (
        select(_failure_kind().label("failure"))
        .where(*_attempts(buyer_id, "post", start, end))
        .subquery()
    )
    rows = await session.execute(select(tried.c.failure, func.count()).group_by(tried.c.failure))
    failures = dict.fromkeys(POST_FAILURES, 0)
    tries = 0
    for name, count in rows:
        tries += int(count)
        if name is not None:
            failures[str(name)] = failures.get(str(name), 0) + int(count)
    return tries, failures


async def _returns(
    session: AsyncSession, party: ColumnElement[bool], start: dt.datetime, end: dt.datetime
) -> tuple[int, int]:
    """The party's live sales made in the range that stand, and their approved returns."""
    approved = and_(Return.sale_id == Sale.id, Return.status == "approved")
    sold, returned = (
        await session.execute(
            select(func.count(Sale.id), func.count(Return.id))
            .select_from(Sale)
            .outerjoin(Return, approved)
            .where(
                party,
                Sale.status == _SOLD,
                Sale.test.is_(False),
                Sale.created_at >= start,
                Sale.created_at < end,
            )
        )
    ).one()
    return int(sold), int(returned)
