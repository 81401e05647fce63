"""Money after the sale, end to end over HTTP on the backend CI names: a prepaid buyer's
balance stops the auction (outcome ``balance``), a top-up lets it buy again, a return
credits it and charges its supplier back, and the ledger, the account counter and the
balances agree to the cent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from pingtree.domain.caps import ACCOUNT_WINDOW, account_scope
from pingtree.store.db import create_engine, session_factory
from pingtree.store.ledger import LedgerRepository
from pingtree.store.tables import CapUsage, LedgerEntry
from tests.api.conftest import SECRET
from tests.api.market import PING, Market, buyer, campaign, marketplace, order
from tests.support.processes import cli, server_env


def _market(**account: Any) -> dict[str, Any]:
    config = marketplace(
        [
            buyer(
                "acme",
                order("acme_fl", "20.00", return_window_days=7),
                account=account or {"kind": "prepaid"},
            )
        ],
        [campaign(payout={"model": "revenue_share", "percent": 50})],
    )
    config["verticals"][0]["return_reasons"] = [
        {"code": "wrong_number", "label": "Wrong number"},
        {"code": "duplicate", "auto_approve": True},
    ]
    return config


def _buyer_key(market: Market, buyer_id: str = "acme") -> dict[str, str]:
    response = market.http.post(
        f"/api/v1/admin/buyers/{buyer_id}/keys", json={"name": "crm"}, headers=market.admin
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['api_key']}"}


def _top_up(market: Market, amount: str) -> None:
    response = market.http.post(
        "/api/v1/admin/accounts/buyer/acme/topups",
        json={"amount": amount, "note": "wire 42"},
        headers=market.admin,
    )
    assert response.status_code == 201, response.text


def _account(market: Market, party: str = "buyer", party_id: str = "acme") -> dict[str, Any]:
    response = market.http.get(f"/api/v1/admin/accounts/{party}/{party_id}", headers=market.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ledger(market: Market) -> tuple[dict[str, int], int | None, list[LedgerEntry]]:
    """The live balances from the entries, the buyer's account counter, every entry."""

    async def read() -> tuple[dict[str, int], int | None, list[LedgerEntry]]:
        engine = create_engine(market.settings.resolved_database_url())
        try:
            async with session_factory(engine)() as session:
                ledger = LedgerRepository(session)
                balances = await ledger.balances("buyer") | await ledger.balances("supplier")
                counter = await session.get(CapUsage, (account_scope("acme"), ACCOUNT_WINDOW))
                entries = list(await ledger.entries())
                return balances, None if counter is None else counter.used, entries
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_prepaid_buyer_buys_what_its_balance_covers_and_a_return_gives_it_back(
    market: Market,
) -> None:
    market.apply(_market())
    assert market.ping()["status"] == "rejected"  # nothing prepaid yet
    _top_up(market, "45.00")

    sold = [market.sell() for _ in range(2)]
    assert [answer["status"] for answer in sold] == ["sold", "sold"]
    pinged = market.ping()
    assert pinged["status"] == "rejected"
    assert market.outcomes(pinged["ping_id"])["acme_fl"] == (
        "balance",
        "balance cannot cover the price",
    )
    assert _account(market)["balance"] == "5.00"

    # the buyer returns its first lead with its own key; an operator approves it
    headers = _buyer_key(market)
    lead_id = sold[0]["lead_id"]
    reasons = market.http.get(f"/api/v1/buyer/leads/{lead_id}/return-reasons", headers=headers)
    assert [r["code"] for r in reasons.json()] == ["wrong_number", "duplicate"]
    asked = market.http.post(
        "/api/v1/buyer/returns",
        json={"lead_id": lead_id, "reason": "wrong_number", "comment": "disconnected"},
        headers=headers,
    )
    assert asked.status_code == 201, asked.text
    claim = asked.json()
    assert claim["status"] == "requested"
    assert "supplier_id" not in claim
    assert "chargeback" not in claim
    again = market.http.post(
        "/api/v1/buyer/returns",
        json={"lead_id": lead_id, "reason": "wrong_number"},
        headers=headers,
    )
    assert again.status_code == 409
    assert again.json()["detail"]["type"] == "already_requested"

    approved = market.http.post(
        f"/api/v1/admin/returns/{claim['id']}/approve",
        json={"note": "checked"},
        headers=market.admin,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["credit"] == "20.00"
    assert approved.json()["chargeback"] == "10.00"
    twice = market.http.post(f"/api/v1/admin/returns/{claim['id']}/approve", headers=market.admin)
    assert twice.status_code == 409

    assert market.lead(lead_id)["status"] == "returned"
    assert _account(market)["balance"] == "25.00"
    assert _account(market, "supplier", "acme")["balance"] == "10.00"
    assert market.sell()["status"] == "sold"  # the credit is room to buy again at once

    balances, counter, entries = _ledger(market)
    assert balances == {"buyer:acme": 500, "supplier:acme": 2000}
    assert counter == -balances["buyer:acme"]  # no sale in flight: the counter is the ledger
    assert sorted(e.kind for e in entries) == [
        "chargeback", "payout", "payout", "payout", "return", "sale", "sale", "sale", "topup",
    ]  # fmt: skip
    topup = next(e for e in entries if e.kind == "topup")
    assert topup.principal.startswith("key:")
    assert topup.note == "wire 42"


def test_the_return_window_binds_the_buyer_and_a_reason_may_approve_itself(
    market: Market,
) -> None:
    market.apply(_market(kind="credit", credit_limit="100.00"))
    first, second = market.sell(), market.sell()
    headers = _buyer_key(market)

    auto = market.http.post(
        "/api/v1/buyer/returns",
        json={"lead_id": first["lead_id"], "reason": "duplicate"},
        headers=headers,
    )
    assert auto.status_code == 201, auto.text
    assert auto.json()["status"] == "approved"
    unknown = market.http.post(
        "/api/v1/buyer/returns",
        json={"lead_id": second["lead_id"], "reason": "bored"},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["reason"]

    market.clock.advance(days=8)
    late = market.http.post(
        "/api/v1/buyer/returns",
        json={"lead_id": second["lead_id"], "reason": "wrong_number"},
        headers=headers,
    )
    assert late.status_code == 409
    assert late.json()["detail"]["type"] == "window_closed"
    # an operator may still return it: the window binds buyers
    staff = market.http.post(
        "/api/v1/admin/returns",
        json={"lead_id": second["lead_id"], "reason": "wrong_number"},
        headers=market.admin,
    )
    assert staff.status_code == 201, staff.text

    account = _account(market)
    assert account["kind"] == "credit"
    assert account["balance"] == "-20.00"  # two sales of 20, one credited back
    assert account["available"] == "80.00"
    denied = market.http.post(
        f"/api/v1/admin/returns/{staff.json()['id']}/deny", json={"note": ""}, headers=market.admin
    )
    assert denied.status_code == 422  # a denial says why


def test_another_buyers_lead_cannot_be_returned_and_a_supplier_sees_no_buyer(
    market: Market,
) -> None:
    config = _market()
    config["buyers"].append(buyer("other", order("other_fl", "5.00")))
    market.apply(config)
    _top_up(market, "100.00")
    lead_id = market.sell()["lead_id"]  # acme pays more: acme buys it
    other = _buyer_key(market, "other")
    stolen = market.http.post(
        "/api/v1/buyer/returns", json={"lead_id": lead_id, "reason": "wrong_number"}, headers=other
    )
    assert stolen.status_code == 404
    assert market.http.get("/api/v1/buyer/account", headers=other).json()["id"] == "other"

    mine = _buyer_key(market)
    asked = market.http.post(
        "/api/v1/buyer/returns", json={"lead_id": lead_id, "reason": "wrong_number"}, headers=mine
    ).json()
    market.http.post(f"/api/v1/admin/returns/{asked['id']}/approve", headers=market.admin)

    made = market.http.post(
        "/api/v1/admin/suppliers/acme/keys", json={"name": "x"}, headers=market.admin
    )
    supplier = {"Authorization": f"Bearer {made.json()['api_key']}"}
    seen = market.http.get("/api/v1/supplier/returns", headers=supplier).json()
    assert [r["chargeback"] for r in seen] == ["10.00"]  # the default: charged back
    assert all("buyer_id" not in r and "credit" not in r for r in seen)
    statement = market.http.get("/api/v1/supplier/account", headers=supplier).json()
    assert [e["kind"] for e in statement["entries"]] == ["payout", "chargeback"]
    assert all("buyer_id" not in e and "order_id" not in e for e in statement["entries"])
    assert statement["balance"] == "0.00"


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.005", "NaN", "99999999999.00"])
def test_a_top_up_must_be_positive_whole_cents(market: Market, amount: str) -> None:
    market.apply(_market())
    response = market.http.post(
        "/api/v1/admin/accounts/buyer/acme/topups", json={"amount": amount}, headers=market.admin
    )
    assert response.status_code == 422, response.text
    assert "amount" in str(response.json()["detail"])


def test_an_adjustment_needs_a_reason_and_moves_the_account_both_ways(market: Market) -> None:
    market.apply(_market())
    url = "/api/v1/admin/accounts/buyer/acme/adjustments"
    assert market.http.post(url, json={"amount": "5.00"}, headers=market.admin).status_code == 422
    for amount in ("30.00", "-10.00"):
        made = market.http.post(
            url, json={"amount": amount, "note": "goodwill"}, headers=market.admin
        )
        assert made.status_code == 201, made.text
    assert _account(market)["balance"] == "20.00"
    assert market.sell()["status"] == "sold"
    assert market.ping(PING)["status"] == "rejected"  # 0.00 left: a 20.00 price does not fit
    assert Decimal(_account(market)["available"]) == 0


def test_accounts_check_finds_a_counter_off_the_ledger_and_rebuilds_it(market: Market) -> None:
    market.apply(_market())
    _top_up(market, "45.00")
    market.sell()
    env = server_env(market.settings, SECRET)
    assert cli(env, "accounts", "check").endswith(
        "acme: balance 25.00, in flight 0.00, counter -25.00 (expected -25.00): ok"
    )

    async def corrupt() -> None:
        engine = create_engine(market.settings.resolved_database_url())
        try:
            async with session_factory(engine).begin() as session:
                await session.execute(
                    update(CapUsage)
                    .where(CapUsage.scope == account_scope("acme"))
                    .values(used=1000)
                )
        finally:
            await engine.dispose()

    asyncio.run(corrupt())
    found = subprocess.run(
        [sys.executable, "-m", "pingtree", "accounts", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 1
    assert "counter 10.00 (expected -25.00): DISAGREES" in found.stdout
    assert cli(env, "accounts", "check", "--repair").endswith("repaired")
    assert cli(env, "accounts", "check").endswith("ok")
    _, counter, _ = _ledger(market)
    assert counter == -2500
