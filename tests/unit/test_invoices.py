"""Invoices as documents (``domain.invoices``) and their periods (``api.invoice_views``):
pure, no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from pingtree.api.invoice_documents import headline
from pingtree.api.invoice_views import PeriodAsked
from pingtree.domain.invoices import Movement, Period, build_document, document_number
from pingtree.flows.errors import InputError

NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)
NOVEMBER = PeriodAsked(month="2026-11").period("America/New_York", NOW)


def _at(day: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, 0, tzinfo=dt.UTC)


def test_a_month_is_its_local_days_across_a_dst_change() -> None:
    # New York leaves daylight time on 1 November 2026: the month starts at 04:00 UTC
    # (EDT) and ends at 05:00 UTC (EST)
    assert NOVEMBER.start.astimezone(dt.UTC) == dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
    assert NOVEMBER.end.astimezone(dt.UTC) == dt.datetime(2026, 12, 1, 5, tzinfo=dt.UTC)
    assert (NOVEMBER.first, NOVEMBER.last) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    december = PeriodAsked(month="2026-12").period("UTC", NOW)
    assert december.end == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    # neither month nor dates: last month
    assert PeriodAsked().period("America/New_York", NOW) == NOVEMBER
    days = PeriodAsked(first=dt.date(2026, 3, 8), last=dt.date(2026, 3, 8))
    spring = days.period("America/New_York", NOW)
    assert spring.end.astimezone(dt.UTC) - spring.start.astimezone(dt.UTC) == dt.timedelta(hours=23)


@pytest.mark.parametrize(
    ("asked", "field"),
    [
        (PeriodAsked(month="2026-00"), "month"),
        (PeriodAsked(month="1999-12"), "month"),
        (PeriodAsked(month="2026-11", first=dt.date(2026, 11, 1)), "month"),
        (PeriodAsked(first=dt.date(2026, 11, 1)), "to"),
        (PeriodAsked(last=dt.date(2026, 11, 1)), "from"),
        (PeriodAsked(first=dt.date(2026, 11, 2), last=dt.date(2026, 11, 1)), "to"),
        (PeriodAsked(first=dt.date(2025, 1, 1), last=dt.date(2026, 1, 2)), "to"),
    ],
)
def test_a_bad_period_names_its_field(asked: PeriodAsked, field: str) -> None:
    with pytest.raises(InputError) as raised:
        asked.period("UTC", NOW)
    assert [error.loc for error in raised.value.errors] == [("query", field)]


def test_an_invoices_totals_are_its_lines_sums() -> None:
    movements = [
        Movement("old", "adjustment", _at(20, 10), -500, note="late"),
        Movement("s1", "sale", _at(3), -4117, "lead-1", "o1"),
        Movement("s2", "sale", _at(4), -4117, "lead-2", "o1"),
        Movement("r1", "return", _at(5), 4117, "lead-1", "o1", note="wrong_number"),
        Movement("t1", "topup", _at(6), 10_000, note="wire"),
        Movement("a1", "adjustment", _at(7), 250, note="goodwill"),
    ]
    document = build_document(
        "invoice",
        {"kind": "buyer", "id": "alpha", "name": "Alpha"},
        NOVEMBER,
        movements,
        opening_cents=14_367,
        account_kind="credit",
    )
    assert document["totals"] == {
        "leads": 2,
        "returns": 1,
        "charges": "82.34",
        "credits": "41.17",
        "topups": "100.00",
        "adjustments": "-2.50",  # the late -5.00 and the +2.50
        "due": "43.67",  # 82.34 - 41.17 + 2.50
        "opening": "143.67",
        "movement": "56.33",
        "closing": "200.00",
    }
    assert document["cents"] == {"opening": 14_367, "closing": 20_000, "total": 4_367}
    assert headline(document) == ("Total due for the period", "43.67")
    assert headline({**document, "account_kind": "prepaid"}) == ("Closing balance", "200.00")
    assert [line["carried"] for line in document["lines"]] == [True] + [False] * 5
    assert document["lines"][1] == {
        "entry_id": "s1",
        "date": "2026-11-03",
        "kind": "sale",
        "lead_id": "lead-1",
        "order_id": "o1",
        "amount": "-41.17",
        "note": "",
        "carried": False,
    }


def test_a_statement_names_no_order_and_refuses_a_buyers_entry() -> None:
    party = {"kind": "supplier", "id": "acme", "name": "Acme"}
    movements = [
        Movement("p1", "payout", _at(3), 2881, "lead-1", "alpha_order", "acme_auto"),
        Movement("c1", "chargeback", _at(5), -2881, "lead-1", "alpha_order", "acme_auto"),
        Movement("p2", "payout", _at(6), 2606, "lead-2", "bravo_order", "acme_auto"),
    ]
    document = build_document("statement", party, NOVEMBER, movements, opening_cents=0)
    assert document["totals"]["payable"] == "26.06"
    assert headline(document) == ("Total payable", "26.06")
    assert document["totals"]["earned"] == "54.87"
    assert document["totals"]["charged_back"] == "28.81"
    assert "_order" not in str(document)
    with pytest.raises(ValueError, match="sale entry is not on a statement"):
        build_document("statement", party, NOVEMBER, [Movement("s", "sale", _at(3), -1)], 0)


def test_numbers_count_within_their_kind_and_year() -> None:
    assert document_number("invoice", 2026, 1) == "INV-2026-0001"
    assert document_number("statement", 2027, 12345) == "ST-2027-12345"


def test_period_is_a_value() -> None:
    assert isinstance(NOVEMBER, Period)
