"""Issue 14's "done when", over HTTP on the backend CI names: leads sold, one returned and
credited, its supplier charged back, a top-up and an adjustment; then the ledger, the
accounts' balances, the month's invoice and statement, and every report agree to the cent."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from pingtree.store.db import create_engine, session_factory
from pingtree.store.ledger import LedgerRepository
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30", "tz": "UTC"}


def _get(market: Market, path: str, **params: Any) -> Any:
    response = market.http.get(path, params=params, headers=market.admin)
    assert response.status_code == 200, response.text
    return response.json()


def _post(market: Market, path: str, body: dict[str, Any], status: int = 201) -> Any:
    response = market.http.post(path, json=body, headers=market.admin)
    assert response.status_code == status, response.text
    return response.json()


def _ledger_sums(market: Market) -> dict[tuple[str, str], Decimal]:
    """(account, kind) → the sum of its live entries, read from the database itself."""

    async def read() -> dict[tuple[str, str], Decimal]:
        engine = create_engine(market.settings.resolved_database_url())
        try:
            async with session_factory(engine)() as session:
                sums: dict[tuple[str, str], Decimal] = {}
                for entry in await LedgerRepository(session).entries():
                    key = (entry.account, entry.kind)
                    sums[key] = sums.get(key, Decimal(0)) + Decimal(entry.amount_cents) / 100
                return sums
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_sale_returned_and_credited_agrees_everywhere_to_the_cent(market: Market) -> None:
    config = marketplace(
        [
            buyer(
                "acme",
                order("acme_fl", "20.00", return_window_days=7),
                account={"kind": "credit", "credit_limit": "1000.00"},
            ),
            buyer("beta", order("beta_fl", "12.35")),
        ],
        [campaign(payout={"model": "revenue_share", "percent": 55}, max_sells=2)],
    )
    config["buyers"][0]["orders"][0]["pricing"] = {"type": "fixed", "shared": "20.00"}
    config["buyers"][1]["orders"][0]["pricing"] = {"type": "fixed", "shared": "12.35"}
    market.apply(config)

    sold = []
    for i in range(3):
        fields = {**PING, **CONTACT, "email": f"p{i}@example.com", "sub_id": f"s{i % 2}"}
        sold.append(market.sell(fields))
    assert [answer["status"] for answer in sold] == ["sold"] * 3
    # each lead: 32.35 to two buyers, 55% of it (17.79) split over the two by price
    returned = _post(
        market,
        "/api/v1/admin/returns",
        {"sale_id": _sale(market, sold[0], "acme"), "reason": "fake"},
    )
    _post(market, f"/api/v1/admin/returns/{returned['id']}/approve", {}, status=200)
    _post(market, "/api/v1/admin/accounts/buyer/acme/topups", {"amount": "30.00"})
    _post(
        market,
        "/api/v1/admin/accounts/supplier/acme/adjustments",
        {"amount": "-1.50", "note": "bank fee"},
    )

    sums = _ledger_sums(market)
    revenue = -(sums[("buyer:acme", "sale")] + sums[("buyer:beta", "sale")])
    returns = sums[("buyer:acme", "return")]
    cost = sums[("supplier:acme", "payout")]
    chargebacks = -sums[("supplier:acme", "chargeback")]
    assert revenue == Decimal("97.05")  # 3 × (20.00 + 12.35)
    assert returns == Decimal("20.00")

    # the accounts
    accounts = _get(market, "/api/v1/admin/accounts")
    balances = {row["id"]: Decimal(row["balance"]) for row in accounts["buyers"]}
    assert balances["acme"] == sum(v for (a, _), v in sums.items() if a == "buyer:acme")
    assert balances["acme"] == Decimal("-60.00") + 20 + 30
    supplier = Decimal(accounts["suppliers"][0]["balance"])
    assert supplier == cost - chargebacks - Decimal("1.50")

    # every report: the summary, the breakdowns and their totals
    summary = _get(market, "/api/v1/admin/reports/summary", **NOVEMBER)
    assert Decimal(summary["gross_revenue"]) == revenue
    assert Decimal(summary["returns"]) == returns
    assert Decimal(summary["revenue"]) == revenue - returns
    assert Decimal(summary["gross_cost"]) == cost
    assert Decimal(summary["chargebacks"]) == chargebacks
    assert Decimal(summary["profit"]) == (revenue - returns) - (cost - chargebacks)
    for by in ("buyer", "supplier", "campaign", "order", "vertical", "sub_id"):
        report = _get(market, "/api/v1/admin/reports/breakdown", by=by, **NOVEMBER)
        rows = report["rows"]
        assert sum(Decimal(r["revenue"]) for r in rows) == revenue - returns, by
        assert sum(Decimal(r["cost"]) for r in rows) == cost - chargebacks, by
        assert Decimal(report["total"]["revenue"]) == revenue - returns, by

    # the month's invoice and statement, issued in December
    market.clock.advance(days=10)
    invoice = _post(market, "/api/v1/admin/invoices", {"party": "buyer:acme", "month": "2026-11"})
    totals = invoice["totals"]
    assert Decimal(totals["charges"]) == -sums[("buyer:acme", "sale")]
    assert Decimal(totals["credits"]) == returns
    assert Decimal(totals["topups"]) == Decimal("30.00")
    assert Decimal(totals["closing"]) == balances["acme"]
    assert Decimal(totals["due"]) == Decimal("40.00")  # charged 60, credited 20
    statement = _post(
        market, "/api/v1/admin/invoices", {"party": "supplier:acme", "month": "2026-11"}
    )
    assert Decimal(statement["totals"]["payable"]) == supplier


def _sale(market: Market, answer: dict[str, Any], buyer_id: str) -> str:
    sales = market.lead(answer["lead_id"])["sales"]
    return str(next(s["id"] for s in sales if s["buyer_id"] == buyer_id))
