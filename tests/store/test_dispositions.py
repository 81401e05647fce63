"""Dispositions in the store, on SQLite and PostgreSQL: a sale's current report is its
latest; the figures by supplier, campaign, ``sub_id`` and buyer count each sale once by its
current code, with what that code means in its vertical; test traffic stays apart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.domain.dispositions import DEFAULT_DISPOSITIONS, DispositionCode
from pingtree.store.dispositions import DispositionRepository, disposition_rates
from pingtree.store.tables import Lead, Sale

NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
#: the solar vertical names its own codes: a site visit is a contact, ``signed`` converts
SOLAR = (
    DispositionCode("site_visit", "Site visit", contacted=True),
    DispositionCode("signed", "Signed", contacted=True, converted=True),
)
CODES = {"auto": DEFAULT_DISPOSITIONS, "solar": SOLAR}


def _sale(
    n: int,
    *,
    supplier: str = "north",
    campaign: str = "north_auto",
    buyer: str = "alpha",
    sub_id: str | None = "s1",
    vertical: str = "auto",
    test: bool = False,
    status: str = "sold",
) -> tuple[Lead, Sale]:
    at = NOON + dt.timedelta(minutes=n)
    fields = {"state": "FL"} | ({"sub_id": sub_id} if sub_id is not None else {})
    lead = Lead(
        id=f"lead-{n:03d}",
        campaign_id=campaign,
        supplier_id=supplier,
        vertical_id=vertical,
        test=test,
        status="sold",
        reasons=[],
        fields=fields,
        created_at=at,
        updated_at=at,
    )
    sale = Sale(
        id=f"sale-{n:03d}",
        lead_id=lead.id,
        order_id=f"{buyer}_order",
        buyer_id=buyer,
        campaign_id=campaign,
        supplier_id=supplier,
        vertical_id=vertical,
        leg="exclusive",
        test=test,
        status=status,
        revenue_cents=2000,
        cost_cents=1400,
        created_at=at,
    )
    return lead, sale


async def _store(sessions: async_sessionmaker[AsyncSession], *pairs: tuple[Lead, Sale]) -> None:
    async with sessions.begin() as session:
        for lead, _ in pairs:
            session.add(lead)
        await session.flush()
        for _, sale in pairs:
            session.add(sale)


async def _report(
    sessions: async_sessionmaker[AsyncSession],
    sale: Sale,
    code: str,
    minutes: int,
    value_cents: int | None = None,
) -> None:
    async with sessions.begin() as session:
        await DispositionRepository(session).add(
            sale, code, value_cents, "", "user:u1", NOON + dt.timedelta(hours=1, minutes=minutes)
        )


async def test_the_latest_report_is_a_sales_current_one_and_rates_follow_its_meaning(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pairs = [
        _sale(1),
        _sale(2),
        _sale(3, sub_id="s2"),
        _sale(4, sub_id=None),
        _sale(5, supplier="south", campaign="south_auto", buyer="bravo"),
        _sale(6, vertical="solar", campaign="north_solar"),
        _sale(7, test=True),
        _sale(8, status="rejected"),
    ]
    await _store(sessions, *pairs)
    sales = {int(sale.id[-3:]): sale for _, sale in pairs}
    # 1: quoted, then sold with a premium: currently sold
    await _report(sessions, sales[1], "quoted", 1, 90000)
    await _report(sessions, sales[1], "sold", 2, 125050)
    # 2: sold first, then corrected to bad number: currently bad number, no value
    await _report(sessions, sales[2], "sold", 1, 50000)
    await _report(sessions, sales[2], "bad_number", 3)
    await _report(sessions, sales[3], "contacted", 1)
    await _report(sessions, sales[5], "not_interested", 1)
    await _report(sessions, sales[6], "signed", 1, 3000000)
    await _report(sessions, sales[7], "sold", 1, 99900)  # test traffic

    async with sessions() as session:
        rows = await disposition_rates(
            session, NOON, NOON + dt.timedelta(days=1), by=("campaign", "sub_id"), codes=CODES
        )
        history = await DispositionRepository(session).for_lead("lead-002")
    assert [d.code for d in history] == ["bad_number", "sold"]
    got = {
        tuple(row.key.values()): (row.sold, row.disposed, row.contacted, row.converted, row.value)
        for row in rows
    }
    assert got == {
        ("north_auto", ""): (1, 0, 0, 0, Decimal("0.00")),
        ("north_auto", "s1"): (2, 2, 1, 1, Decimal("1250.50")),
        ("north_auto", "s2"): (1, 1, 1, 0, Decimal("0.00")),
        ("north_solar", "s1"): (1, 1, 1, 1, Decimal("30000.00")),
        ("south_auto", "s1"): (1, 1, 1, 0, Decimal("0.00")),
    }
    s1 = next(r for r in rows if r.key == {"campaign": "north_auto", "sub_id": "s1"})
    assert (s1.contact_rate, s1.conversion_rate) == (0.5, 0.5)
    assert s1.value_per_sold == Decimal("625.25")
    assert s1.codes == {"sold": 1, "bad_number": 1}

    async with sessions() as session:
        by_buyer = await disposition_rates(
            session, NOON, NOON + dt.timedelta(days=1), by=("buyer",), codes=CODES
        )
        only_south = await disposition_rates(
            session,
            NOON,
            NOON + dt.timedelta(days=1),
            by=("supplier",),
            codes=CODES,
            campaign_ids=["south_auto"],
        )
        tests = await disposition_rates(
            session, NOON, NOON + dt.timedelta(days=1), by=(), codes=CODES, test=True
        )
        before = await disposition_rates(
            session, NOON - dt.timedelta(days=1), NOON, by=("buyer",), codes=CODES
        )
    assert [(r.key["buyer"], r.sold, r.disposed, r.converted) for r in by_buyer] == [
        ("alpha", 5, 4, 2),
        ("bravo", 1, 1, 0),
    ]
    assert [(r.key, r.sold) for r in only_south] == [({"supplier": "south"}, 1)]
    assert [(r.sold, r.converted, r.value) for r in tests] == [(1, 1, Decimal("999.00"))]
    assert before == []
