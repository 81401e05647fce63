"""Invoices and payout statements over real HTTP, on the engine the environment names.

Two suppliers sell leads to two buyers through a real market (orders with no post step:
sold at once, their ``sale`` and ``payout`` entries booked by the sale's transaction). The
entries the returns and top-ups flows will write are added to the ledger as those flows do
(``LedgerRepository.add``). Every total is checked against sums the test takes from the
ledger itself.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pingtree.store.db import create_engine, session_factory
from pingtree.store.ledger import EntryKind, LedgerRepository, new_entry
from pingtree.store.tables import LedgerEntry, Sale
from tests.api.market import AUTO_VERTICAL, CONTACT, PING, Market, buyer, campaign, order

NEW_YORK = "America/New_York"
#: the clock's sales are on Monday 23 November 2026; November has ended by then
AFTER_NOVEMBER = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)
AFTER_DECEMBER = dt.datetime(2027, 1, 2, 15, 0, tzinfo=dt.UTC)
PRICES = {"alpha": "41.17", "bravo": "37.23"}
NAMES = {"alpha": "Alpha Insurance Co", "bravo": "Bravo Coverage LLC"}
STATES = {"alpha": ("FL", "33101"), "bravo": ("TX", "75001")}
#: November in New York: 1 November 04:00 UTC (EDT) to 1 December 05:00 UTC (EST)
NOVEMBER_NY = (
    dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC),
)


def _config(buyers: dict[str, str] | None = None) -> dict[str, Any]:
    """Two suppliers' campaigns and two buyers (more when asked), each buyer its state."""
    chosen = buyers or {"alpha": "FL", "bravo": "TX"}
    made = []
    for buyer_id, state in chosen.items():
        price = PRICES.get(buyer_id, "20.00")
        rule = {"all": [{"field": "state", "op": "eq", "value": state}]}
        spec = buyer(
            buyer_id,
            order(f"{buyer_id}_order", price, filters=rule),
            name=NAMES.get(buyer_id, buyer_id),
            timezone=NEW_YORK,
        )
        if buyer_id == "alpha":  # invoiced on credit
            spec["account"] = {"kind": "credit", "credit_limit": "1000.00"}
        made.append(spec)
    return {
        "verticals": [AUTO_VERTICAL],
        "suppliers": [
            {"id": "acme", "name": "Acme Media", "campaigns": [campaign()]},
            {"id": "zenith", "name": "Zenith Leads", "campaigns": [campaign("zenith_auto")]},
        ],
        "buyers": made,
    }


def _sell(market: Market, buyer_id: str, campaign_id: str = "acme_auto") -> str:
    state, zip_code = STATES.get(buyer_id, ("FL", "33101"))
    fields = {**PING, **CONTACT, "state": state, "zip": zip_code}
    answer = market.direct_post(fields, campaign_id)
    assert answer["status"] == "sold", answer
    return str(answer["lead_id"])


def _run(market: Market, work: Any) -> Any:
    """``work(session)`` in a transaction on the market's database."""

    async def go() -> Any:
        engine = create_engine(market.settings.resolved_database_url())
        try:
            async with session_factory(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _add(market: Market, *entries: LedgerEntry) -> None:
    async def work(session: Any) -> None:
        await LedgerRepository(session).add(entries)

    _run(market, work)


def _sale(market: Market, lead_id: str) -> Sale:
    async def work(session: Any) -> Sale:
        found: Sale = (await session.scalars(select(Sale).where(Sale.lead_id == lead_id))).one()
        return found

    sale: Sale = _run(market, work)
    return sale


def _sums(market: Market, account: str, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """The ledger's own sums of the account's live entries in ``[start, end)``, by kind."""

    async def work(session: Any) -> dict[str, int]:
        query = (
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount_cents))
            .where(
                LedgerEntry.account == account,
                LedgerEntry.test.is_(False),
                LedgerEntry.at >= start,
                LedgerEntry.at < end,
            )
            .group_by(LedgerEntry.kind)
        )
        return {kind: int(total) for kind, total in await session.execute(query)}

    found: dict[str, int] = _run(market, work)
    return found


def _cents(text: str) -> int:
    whole, _, fraction = text.lstrip("-").partition(".")
    value = int(whole) * 100 + int(fraction)
    return -value if text.startswith("-") else value


def _draft(market: Market, party: str, **params: str) -> dict[str, Any]:
    answer = market.http.get(
        "/api/v1/admin/invoices/draft", params={"party": party, **params}, headers=market.admin
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _issue(market: Market, party: str, **body: str) -> httpx.Response:
    return market.http.post(
        "/api/v1/admin/invoices", json={"party": party, **body}, headers=market.admin
    )


def _admin_post(market: Market, path: str, **body: str) -> dict[str, Any]:
    answer = market.http.post(path, json=body, headers=market.admin)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def _party_key(market: Market, kind: str, party_id: str) -> dict[str, str]:
    made = market.http.post(f"/api/v1/admin/{kind}s/{party_id}/keys", headers=market.admin)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['api_key']}"}


@pytest.fixture
def sold(market: Market) -> dict[str, list[str]]:
    """Alpha bought three leads (two of Acme's, one of Zenith's), Bravo two; Alpha topped up,
    returned one lead (approved: Acme charged back) and got an adjustment, through the admin
    API's money routes. A test entry and one of October complete the ledger."""
    market.apply(_config())
    leads = {
        "alpha": [
            _sell(market, "alpha"),
            _sell(market, "alpha"),
            _sell(market, "alpha", "zenith_auto"),
        ],
        "bravo": [_sell(market, "bravo"), _sell(market, "bravo")],
    }
    # the money flows, as an operator runs them (dated the clock's now, 23 November)
    _admin_post(market, "/api/v1/admin/accounts/buyer/alpha/topups", amount="500.00", note="wire")
    asked = _admin_post(
        market, "/api/v1/admin/returns", lead_id=leads["alpha"][0], reason="wrong_number"
    )
    _admin_post(market, f"/api/v1/admin/returns/{asked['id']}/approve")
    _admin_post(
        market, "/api/v1/admin/accounts/buyer/alpha/adjustments", amount="-1.99", note="fee"
    )
    at = market.clock.now()
    # what no flow writes: an entry dated before the period, and test traffic's money
    _add(
        market,
        # before the period: the first invoice carries it
        new_entry(
            EntryKind.TOPUP,
            "buyer:alpha",
            1_000,
            dt.datetime(2026, 10, 15, tzinfo=dt.UTC),
            principal="user:t",
            note="opening deposit",
        ),
        # test traffic's money is never on an invoice
        new_entry(EntryKind.TOPUP, "buyer:alpha", 777, at, principal="user:t", test=True),
    )
    return leads


def test_a_drafts_totals_are_the_ledgers_sums_to_the_cent(
    market: Market, sold: dict[str, list[str]]
) -> None:
    draft = _draft(market, "buyer:alpha", month="2026-11")
    start, end = NOVEMBER_NY
    sums = _sums(market, "buyer:alpha", start, end)
    before = _sums(market, "buyer:alpha", dt.datetime(2000, 1, 1, tzinfo=dt.UTC), start)
    totals = draft["totals"]
    assert draft["status"] == "draft"
    assert draft["account_kind"] == "credit"
    assert draft["number"] is None
    assert draft["period"] == {
        "first": "2026-11-01",
        "last": "2026-11-30",
        "time_zone": NEW_YORK,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    assert _cents(totals["charges"]) == -sums["sale"] == 3 * 4117
    assert _cents(totals["credits"]) == sums["return"] == 4117
    assert _cents(totals["adjustments"]) == sums["adjustment"] == -199
    # the October deposit is carried: on no earlier invoice
    assert _cents(totals["topups"]) == sums["topup"] + before["topup"] == 51_000
    assert _cents(totals["due"]) == -(sums["sale"] + sums["return"] + sums["adjustment"])
    assert _cents(totals["closing"]) == sum(sums.values()) + sum(before.values())
    assert _cents(totals["opening"]) == 0
    assert _cents(totals["movement"]) == sum(_cents(line["amount"]) for line in draft["lines"])
    assert totals["leads"] == 3
    assert totals["returns"] == 1
    kinds = [line["kind"] for line in draft["lines"]]
    assert sorted(kinds) == ["adjustment", "return", "sale", "sale", "sale", "topup", "topup"]
    assert [line["carried"] for line in draft["lines"]].count(True) == 1
    # a buyer's lines name its own orders and leads, never the supplier or its campaign
    assert {line["order_id"] for line in draft["lines"] if line["kind"] == "sale"} == {
        "alpha_order"
    }
    assert {line["lead_id"] for line in draft["lines"] if line["kind"] == "sale"} == set(
        sold["alpha"]
    )
    assert "acme" not in str(draft)
    assert "zenith" not in str(draft)

    statement = _draft(market, "supplier:acme", month="2026-11")
    start_utc = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    end_utc = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    acme = _sums(market, "supplier:acme", start_utc, end_utc)
    assert statement["period"]["time_zone"] == "UTC"
    assert _cents(statement["totals"]["earned"]) == acme["payout"]
    assert _cents(statement["totals"]["charged_back"]) == -acme["chargeback"]
    assert _cents(statement["totals"]["payable"]) == acme["payout"] + acme["chargeback"]
    assert statement["totals"]["leads"] == 4  # two of Alpha's, two of Bravo's


def test_issuing_fixes_the_number_and_content_and_late_entries_go_on_the_next(
    market: Market, sold: dict[str, list[str]]
) -> None:
    refused = _issue(market, "buyer:alpha", month="2026-11")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "month"]
    assert "not ended" in refused.json()["detail"][0]["msg"]

    market.clock.set(AFTER_NOVEMBER)
    draft = _draft(market, "buyer:alpha", month="2026-11")
    issued = _issue(market, "buyer:alpha", month="2026-11")
    assert issued.status_code == 201, issued.text
    november = issued.json()
    assert november["number"] == "INV-2026-0001"
    assert november["status"] == "issued"
    assert november["issued_by"].startswith("key:")
    assert november["lines"] == draft["lines"]
    assert november["totals"] == draft["totals"]

    # a sale's entry written late into November (and a December one)
    late_sale = _sale(market, sold["alpha"][1])
    late_at = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    _add(
        market,
        new_entry(EntryKind.ADJUSTMENT, "buyer:alpha", -500, late_at, sale=late_sale, note="late"),
        new_entry(
            EntryKind.TOPUP,
            "buyer:alpha",
            2_000,
            dt.datetime(2026, 12, 10, tzinfo=dt.UTC),
            principal="user:t",
        ),
    )
    again = market.http.get("/api/v1/admin/invoices/INV-2026-0001", headers=market.admin)
    assert again.status_code == 200
    assert again.json() == november
    # November again: refused, its period is issued
    assert _issue(market, "buyer:alpha", month="2026-11").status_code == 409
    overlapping = _issue(market, "buyer:alpha", **{"from": "2026-11-30", "to": "2026-12-01"})
    assert overlapping.status_code == 409

    market.clock.set(AFTER_DECEMBER)
    december = _issue(market, "buyer:alpha", month="2026-12")
    assert december.status_code == 201, december.text
    body = december.json()
    assert body["number"] == "INV-2027-0001"  # issued in 2027: the year's first
    carried = [line for line in body["lines"] if line["carried"]]
    assert [(line["kind"], line["amount"], line["date"]) for line in carried] == [
        ("adjustment", "-5.00", "2026-11-20")
    ]
    # the balance runs on: December opens where November closed
    assert body["totals"]["opening"] == november["totals"]["closing"]
    assert _cents(body["totals"]["closing"]) == _cents(november["totals"]["closing"]) - 500 + 2000
    listed = market.http.get(
        "/api/v1/admin/invoices", params={"party": "buyer:alpha"}, headers=market.admin
    )
    assert [row["number"] for row in listed.json()] == ["INV-2027-0001", "INV-2026-0001"]


def test_issuing_at_once_gives_distinct_numbers_without_gaps(market: Market) -> None:
    buyers = {f"b{n}": "FL" for n in range(6)}
    market.apply(_config(buyers))
    _sell(market, "b0")
    market.clock.set(AFTER_NOVEMBER)
    parties = [f"buyer:{b}" for b in buyers] + ["supplier:acme", "supplier:zenith"]
    # and one buyer twice at once: one is issued, the other refused
    parties.append("buyer:b0")
    with ThreadPoolExecutor(len(parties)) as pool:
        answers = list(pool.map(lambda p: _issue(market, p, month="2026-11"), parties))
    issued = [a.json()["number"] for a in answers if a.status_code == 201]
    assert sorted(a.status_code for a in answers) == [201] * 8 + [409]
    assert sorted(n for n in issued if n.startswith("INV")) == [
        f"INV-2026-{n:04d}" for n in range(1, 7)
    ]
    assert sorted(n for n in issued if n.startswith("ST")) == ["ST-2026-0001", "ST-2026-0002"]
    # the refused one took no number: the next is the next
    after = _issue(market, "buyer:b1", **{"from": "2026-12-01", "to": "2026-12-01"})
    assert after.status_code == 201
    assert after.json()["number"] == "INV-2026-0007"


def _pdf_text(data: bytes) -> str:
    """The text drawn in a PDF's (deflated) content streams."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            text.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(text)


def test_the_pdf_and_csv_hold_the_issued_invoice(
    market: Market, sold: dict[str, list[str]]
) -> None:
    market.clock.set(AFTER_NOVEMBER)
    issued = _issue(market, "buyer:alpha", month="2026-11").json()
    pdf = market.http.get(
        "/api/v1/admin/invoices/INV-2026-0001", params={"format": "pdf"}, headers=market.admin
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.content.rstrip().endswith(b"%%EOF")
    text = _pdf_text(pdf.content)
    assert "Invoice INV-2026-0001" in text
    assert "Alpha Insurance Co" in text
    assert issued["totals"]["due"] in text
    for lead_id in sold["alpha"]:
        assert lead_id in text

    answer = market.http.get(
        "/api/v1/admin/invoices/INV-2026-0001", params={"format": "csv"}, headers=market.admin
    )
    assert answer.status_code == 200
    assert 'filename="INV-2026-0001.csv"' in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["date", "kind", "lead_id", "order_id", "amount", "note", "carried"]
    lines = rows[1 : rows.index([])]
    assert [r[4] for r in lines] == [line["amount"] for line in issued["lines"]]
    totals = {r[1]: r[2] for r in rows[rows.index([]) + 1 :]}
    assert totals["due"] == issued["totals"]["due"]
    assert totals["closing"] == issued["totals"]["closing"]


def test_a_buyer_sees_only_its_own_invoices(market: Market, sold: dict[str, list[str]]) -> None:
    market.clock.set(AFTER_NOVEMBER)
    alpha_number = _issue(market, "buyer:alpha", month="2026-11").json()["number"]
    bravo_number = _issue(market, "buyer:bravo", month="2026-11").json()["number"]
    statement = _issue(market, "supplier:acme", month="2026-11").json()["number"]
    alpha = _party_key(market, "buyer", "alpha")

    own = market.http.get(f"/api/v1/buyer/invoices/{alpha_number}", headers=alpha)
    assert own.status_code == 200
    assert own.json()["party"]["id"] == "alpha"
    for other in (bravo_number, statement, "INV-2026-9999"):
        for fmt in ("json", "pdf", "csv"):
            answer = market.http.get(
                f"/api/v1/buyer/invoices/{other}", params={"format": fmt}, headers=alpha
            )
            assert answer.status_code == 404, (other, fmt)
            assert NAMES["bravo"] not in answer.text
    listed = market.http.get("/api/v1/buyer/invoices", headers=alpha)
    assert [row["number"] for row in listed.json()] == [alpha_number]
    draft = market.http.get(
        "/api/v1/buyer/invoices/draft", params={"month": "2026-11"}, headers=alpha
    )
    assert draft.status_code == 200
    assert draft.json()["party"]["id"] == "alpha"
    # a buyer's key reads no statement, a campaign key no invoice
    assert market.http.get("/api/v1/supplier/statements", headers=alpha).status_code == 403
    seller = market.seller()
    assert market.http.get("/api/v1/buyer/invoices", headers=seller).status_code == 403
    assert market.http.get("/api/v1/admin/invoices", headers=seller).status_code == 403
    # the party routes are the parties' own: the admin API names the party
    assert market.http.get("/api/v1/buyer/invoices", headers=market.admin).status_code == 403


def test_a_suppliers_statement_shows_no_buyer_names_or_prices(
    market: Market, sold: dict[str, list[str]]
) -> None:
    market.clock.set(AFTER_NOVEMBER)
    acme = _party_key(market, "supplier", "acme")
    number = _issue(market, "supplier:acme", month="2026-11").json()["number"]
    zenith_number = _issue(market, "supplier:zenith", month="2026-11").json()["number"]
    forbidden = [*NAMES.values(), *PRICES.values(), "alpha", "bravo", "_order", "4117", "3723"]
    answers = [
        market.http.get(f"/api/v1/supplier/statements/{number}", headers=acme, params=p)
        for p in ({"format": "json"}, {"format": "csv"})
    ]
    answers.append(
        market.http.get(
            "/api/v1/supplier/statements/draft", params={"month": "2026-11"}, headers=acme
        )
    )
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert not [word for word in forbidden if word in answer.text]
    pdf = market.http.get(
        f"/api/v1/supplier/statements/{number}", params={"format": "pdf"}, headers=acme
    )
    text = _pdf_text(pdf.content)
    assert f"Payout statement {number}" in text
    assert not [word for word in forbidden if word in text]
    document = answers[0].json()
    assert {line["campaign_id"] for line in document["lines"]} == {"acme_auto"}
    assert all("order_id" not in line or line["order_id"] is None for line in document["lines"])
    other = market.http.get(f"/api/v1/supplier/statements/{zenith_number}", headers=acme)
    assert other.status_code == 404


def test_bad_periods_and_parties_are_4xx_naming_the_field(market: Market) -> None:
    market.apply(_config())
    cases = [
        ({"party": "buyer:alpha", "month": "2026-13"}, 422, ["query", "month"]),
        ({"party": "buyer:alpha", "from": "2026-11-05"}, 422, ["query", "to"]),
        (
            {"party": "buyer:alpha", "from": "2026-11-05", "to": "2026-11-01"},
            422,
            ["query", "to"],
        ),
        (
            {"party": "buyer:alpha", "month": "2026-11", "from": "2026-11-01", "to": "2026-11-02"},
            422,
            ["query", "month"],
        ),
        ({"party": "customer:alpha"}, 422, ["query", "party"]),
        ({}, 422, ["query", "party"]),
        ({"party": "buyer:nobody"}, 404, None),
    ]
    for params, status, loc in cases:
        answer = market.http.get(
            "/api/v1/admin/invoices/draft", params=params, headers=market.admin
        )
        assert answer.status_code == status, (params, answer.text)
        if loc is not None:
            assert answer.json()["detail"][0]["loc"] == loc, params
