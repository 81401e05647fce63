"""The cap ledgers (DESIGN §8.3), each on its real store: SQL on SQLite, SQL on PostgreSQL,
Redis + PostgreSQL. Every test runs on all three."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from pingtree.domain.caps import CapCharge
from pingtree.store.caps import RedisCapLedger, create_cap_ledger
from pingtree.store.caps_sql import SqlCapLedger
from pingtree.store.tables import CapHold, CapUsage
from tests.store.ledgers import LedgerSetup

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY_END = dt.datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # midnight in New York
TTL = dt.timedelta(minutes=5)
ORDER = "order:o1"
BUYER = "buyer:b1"
COUNT_DAY = "count:d:2026-11-23"
SPEND_DAY = "spend:d:2026-11-23"


def count(limit: int, scope: str = ORDER, window: str = COUNT_DAY) -> CapCharge:
    return CapCharge(scope, window, limit, 1, DAY_END, is_budget=scope.startswith("buyer:"))


def spend(limit: int, cents: int, scope: str = BUYER) -> CapCharge:
    return CapCharge(scope, SPEND_DAY, limit, cents, DAY_END, is_budget=True)


async def sell(
    setup: LedgerSetup,
    sale_id: str,
    ping_id: str | None,
    charges: list[CapCharge],
    now: dt.datetime = NOW,
) -> bool:
    """What the sell flow does: commit in the sale's transaction, after_commit once durable."""
    async with setup.sessions() as session:
        if not await setup.ledger.commit(session, sale_id, ping_id, charges, now):
            await session.rollback()
            return False
        await session.commit()
    await setup.ledger.after_commit(sale_id, charges)
    return True


async def usage(
    setup: LedgerSetup, *charges: CapCharge, now: dt.datetime = NOW
) -> list[tuple[int, int]]:
    keys = [(c.scope, c.window_key) for c in charges]
    found = await setup.ledger.usage(keys, now)
    return [found[key] for key in keys]


async def used_in_database(setup: LedgerSetup, charge: CapCharge) -> int:
    async with setup.sessions() as session:
        used = await session.scalar(
            select(CapUsage.used).where(
                CapUsage.scope == charge.scope, CapUsage.window_key == charge.window_key
            )
        )
    return int(used or 0)


# --- reserve -------------------------------------------------------------------------------


async def test_reserve_within_the_limit_then_refuse(setup: LedgerSetup) -> None:
    cap = count(3)
    for n in range(3):
        assert await setup.ledger.reserve(f"p{n}", [cap], NOW + TTL, NOW)
    assert not await setup.ledger.reserve("p3", [cap], NOW + TTL, NOW)
    assert await usage(setup, cap) == [(0, 3)]


async def test_an_amount_above_the_limit_is_refused(setup: LedgerSetup) -> None:
    assert not await setup.ledger.reserve("p", [spend(1000, 1001)], NOW + TTL, NOW)
    assert await setup.ledger.reserve("p", [spend(1000, 1000)], NOW + TTL, NOW)
    assert await usage(setup, spend(1000, 1)) == [(0, 1000)]


async def test_reserve_is_all_or_nothing(setup: LedgerSetup) -> None:
    order, budget = count(5), spend(1000, 600)
    assert await setup.ledger.reserve("p1", [order, budget], NOW + TTL, NOW)
    # the order has room, the buyer's budget not: neither is held
    assert not await setup.ledger.reserve("p2", [order, budget], NOW + TTL, NOW)
    assert await usage(setup, order, budget) == [(0, 1), (0, 600)]


async def test_holds_expire_by_themselves(setup: LedgerSetup) -> None:
    cap = count(2)
    assert await setup.ledger.reserve("p1", [cap], NOW + TTL, NOW)
    assert await setup.ledger.reserve("p2", [cap], NOW + 2 * TTL, NOW)
    assert not await setup.ledger.reserve("p3", [cap], NOW + TTL, NOW)
    later = NOW + TTL  # p1's hold ends exactly now
    assert await usage(setup, cap, now=later) == [(0, 1)]
    assert await setup.ledger.reserve("p3", [cap], later + TTL, later)
    assert not await setup.ledger.reserve("p4", [cap], later + TTL, later)
    much_later = NOW + 3 * TTL
    assert await usage(setup, cap, now=much_later) == [(0, 0)]


async def test_release_drops_the_pings_holds(setup: LedgerSetup) -> None:
    order, budget = count(1), spend(500, 500)
    assert await setup.ledger.reserve("p1", [order, budget], NOW + TTL, NOW)
    await setup.ledger.release("p1", NOW)
    await setup.ledger.release("p1", NOW)  # idempotent
    await setup.ledger.release("never-seen", NOW)
    assert await usage(setup, order, budget) == [(0, 0), (0, 0)]
    assert await setup.ledger.reserve("p2", [order, budget], NOW + TTL, NOW)


async def test_reserving_again_replaces_the_pings_hold(setup: LedgerSetup) -> None:
    cap = spend(1000, 400)
    assert await setup.ledger.reserve("p1", [cap], NOW + TTL, NOW)
    assert await setup.ledger.reserve("p1", [spend(1000, 700)], NOW + TTL, NOW)
    assert await usage(setup, cap) == [(0, 700)]


async def test_caps_sharing_a_counter_count_once_against_the_smaller_limit(
    setup: LedgerSetup,
) -> None:
    both = [count(3), count(2)]  # 3 a day and 2 a day: one counter
    assert await setup.ledger.reserve("p1", both, NOW + TTL, NOW)
    assert await setup.ledger.reserve("p2", both, NOW + TTL, NOW)
    assert not await setup.ledger.reserve("p3", both, NOW + TTL, NOW)
    assert await sell(setup, "s1", "p1", both)
    assert await usage(setup, both[0]) == [(1, 1)]


async def test_unknown_counters_are_empty(setup: LedgerSetup) -> None:
    assert await setup.ledger.usage([], NOW) == {}
    assert await usage(setup, count(1, "order:nobody")) == [(0, 0)]


async def test_no_charges_always_fit(setup: LedgerSetup) -> None:
    assert await setup.ledger.reserve("p", [], NOW + TTL, NOW)
    assert await sell(setup, "s", "p", [])


# --- commit --------------------------------------------------------------------------------


async def test_commit_turns_the_hold_into_usage(setup: LedgerSetup) -> None:
    order, budget = count(2), spend(1000, 250)
    assert await setup.ledger.reserve("p1", [order, budget], NOW + TTL, NOW)
    assert await sell(setup, "s1", "p1", [order, budget])
    assert await usage(setup, order, budget) == [(1, 0), (250, 0)]
    assert await used_in_database(setup, order) == 1
    assert await used_in_database(setup, budget) == 250


async def test_commit_enforces_the_hard_limit_on_committed_usage(setup: LedgerSetup) -> None:
    cap = count(2)
    assert await sell(setup, "s1", None, [cap])
    assert await sell(setup, "s2", None, [cap])
    assert not await sell(setup, "s3", None, [cap])
    assert await used_in_database(setup, cap) == 2


async def test_commit_is_all_or_nothing_across_order_and_budget(setup: LedgerSetup) -> None:
    order, budget = count(10), spend(1000, 900)
    assert await sell(setup, "s1", None, [order, budget])
    # the order has room; the budget would reach 1,800 of 1,000: nothing is committed
    assert not await sell(setup, "s2", None, [order, spend(1000, 900)])
    assert await used_in_database(setup, order) == 1
    assert await used_in_database(setup, budget) == 900
    assert await sell(setup, "s3", None, [order, spend(1000, 100)])
    assert await usage(setup, order, budget) == [(2, 0), (1000, 0)]


async def test_a_refused_commit_keeps_the_pings_hold(setup: LedgerSetup) -> None:
    order, budget = count(5), spend(1000, 600)
    assert await setup.ledger.reserve("p1", [order, budget], NOW + TTL, NOW)
    assert await sell(setup, "s0", None, [spend(1000, 500)])  # a direct post fills the budget
    assert not await sell(setup, "s1", "p1", [order, budget])
    assert await usage(setup, order, budget) == [(0, 1), (500, 600)]


async def test_commit_never_ends_the_callers_transaction(setup: LedgerSetup) -> None:
    cap = count(1)
    async with setup.sessions() as session:
        await session.begin()
        assert await setup.ledger.commit(session, "s1", None, [cap], NOW)
        assert session.in_transaction()
        await session.rollback()  # the caller changes its mind: nothing happened
    assert await used_in_database(setup, cap) == 0


async def test_commit_without_reservation_window_rollover(setup: LedgerSetup) -> None:
    """A new window starts from zero; the old one keeps its usage."""
    today, tomorrow = count(1), count(1, window="count:d:2026-11-24")
    assert await sell(setup, "s1", None, [today])
    assert not await sell(setup, "s2", None, [today])
    assert await sell(setup, "s3", None, [tomorrow])
    assert await usage(setup, today, tomorrow) == [(1, 0), (1, 0)]


# --- concurrency ---------------------------------------------------------------------------


async def test_many_concurrent_reserve_and_commit_never_pass_the_limit(
    setup: LedgerSetup,
) -> None:
    order, budget = count(10), spend(100_000, 1000)

    async def attempt(n: int) -> bool:
        if not await setup.ledger.reserve(f"p{n}", [order, budget], NOW + TTL, NOW):
            return False
        return await sell(setup, f"s{n}", f"p{n}", [order, budget])

    results = await asyncio.gather(*(attempt(n) for n in range(50)))
    assert sum(results) == 10
    assert await used_in_database(setup, order) == 10
    assert await used_in_database(setup, budget) == 10_000
    assert await usage(setup, order, budget) == [(10, 0), (10_000, 0)]


async def test_many_concurrent_commits_never_pass_the_limit(setup: LedgerSetup) -> None:
    cap = count(10)
    results = await asyncio.gather(*(sell(setup, f"s{n}", None, [cap]) for n in range(50)))
    assert sum(results) == 10
    assert await used_in_database(setup, cap) == 10


async def test_many_concurrent_reservations_hold_exactly_the_limit(setup: LedgerSetup) -> None:
    cap = spend(10_000, 700)
    results = await asyncio.gather(
        *(setup.ledger.reserve(f"p{n}", [cap], NOW + TTL, NOW) for n in range(50))
    )
    assert sum(results) == 14  # 14 x 700 = 9,800
    assert await usage(setup, cap) == [(0, 9800)]


# --- the SQL ledger's rows -----------------------------------------------------------------


async def test_sql_holds_are_rows_and_expired_ones_are_cleaned_up(
    sql_setup: LedgerSetup,
) -> None:
    setup = sql_setup
    cap, yesterday = count(5), count(5, window="count:d:2026-11-22")
    assert await setup.ledger.reserve("p1", [cap], NOW + TTL, NOW)
    assert await setup.ledger.reserve("p2", [yesterday], NOW + TTL, NOW)
    later = NOW + 2 * TTL
    assert await setup.ledger.reserve("p3", [cap], later + TTL, later)
    async with setup.sessions() as session:
        pings = (await session.scalars(select(CapHold.ping_id))).all()
    assert pings == ["p3"]


# --- the Redis cache -----------------------------------------------------------------------


async def test_redis_after_commit_counts_a_sale_once(redis_setup: LedgerSetup) -> None:
    setup = redis_setup
    cap = count(5)
    assert await setup.ledger.reserve("p1", [cap], NOW + TTL, NOW)
    assert await sell(setup, "s1", "p1", [cap])
    await setup.ledger.after_commit("s1", [cap])
    await setup.ledger.after_commit("s1", [cap])
    assert await usage(setup, cap) == [(1, 0)]
    assert await sell(setup, "s2", None, [cap])
    assert await usage(setup, cap) == [(2, 0)]


async def test_redis_rebuilds_a_missing_counter_from_the_database(redis_setup: LedgerSetup) -> None:
    setup = redis_setup
    assert setup.redis is not None
    cap = count(3)
    for n in range(3):
        assert await sell(setup, f"s{n}", None, [cap])
    await setup.redis.flushdb()  # Redis lost everything: the database has the truth
    assert await usage(setup, cap) == [(3, 0)]
    await setup.redis.flushdb()
    assert not await setup.ledger.reserve("p1", [cap], NOW + TTL, NOW)
    assert await setup.redis.get(f"pt:{{{ORDER}}}:{COUNT_DAY}:used") == "3"
    # and it keeps counting from there
    tomorrow = count(3, window="count:d:2026-11-24")
    assert await setup.ledger.reserve("p2", [tomorrow], NOW + TTL, NOW)
    assert await sell(setup, "s9", "p2", [tomorrow])
    assert await usage(setup, tomorrow) == [(1, 0)]


async def test_redis_keys_expire_after_their_window(redis_setup: LedgerSetup) -> None:
    setup = redis_setup
    assert setup.redis is not None
    cap = count(3)
    assert await setup.ledger.reserve("p1", [cap], NOW + TTL, NOW)
    assert await sell(setup, "s1", None, [cap])
    base = f"pt:{{{ORDER}}}:{COUNT_DAY}"
    day_and_a_bit = (DAY_END - NOW + dt.timedelta(days=1)).total_seconds() * 1000
    for suffix in ("used", "holds", "amt", "sales"):
        ttl = await setup.redis.pttl(f"{base}:{suffix}")
        assert 0 < ttl <= day_and_a_bit + 1000, suffix
    assert 0 < await setup.redis.pttl("pt:{ping:p1}:holds") <= TTL.total_seconds() * 1000 + 60_000


async def test_redis_money_is_integer_cents(redis_setup: LedgerSetup) -> None:
    setup = redis_setup
    assert setup.redis is not None
    budget = spend(100_000, 1999)
    assert await setup.ledger.reserve("p1", [budget], NOW + TTL, NOW)
    assert await sell(setup, "s1", "p1", [budget])
    assert await setup.redis.get(f"pt:{{{BUYER}}}:{SPEND_DAY}:used") == "1999"


# --- the factory ---------------------------------------------------------------------------


async def test_the_factory_picks_by_redis(setup: LedgerSetup) -> None:
    ledger = create_cap_ledger(setup.sessions, setup.redis)
    assert isinstance(ledger, RedisCapLedger if setup.redis is not None else SqlCapLedger)
