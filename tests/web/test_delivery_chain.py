"""Delivery chains: steps after a sold lead's post (a CRM webhook, a mail relay), sent one
after another from the outbox to real mock buyers over HTTP (issue 16).

A step's failure is logged, shown on the lead's page (so the tests live with the web's
signed-in users) and never unsells the lead; ``continue_on_success: false`` ends the chain
on a success; a 503 is retried as a post is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from pingtree.mockbuyer import MockBuyer
from pingtree.store.db import create_engine, session_factory
from pingtree.store.tables import ChainStepRow
from tests.api.market import CONTACT, Market, buyer, marketplace, order
from tests.support.buyers import running_buyers
from tests.web.conftest import in_thread
from tests.web.test_config_pages import signed_in

_TAKES = {"check_token": False}
BUYERS: dict[str, dict[str, Any]] = {
    "taker": _TAKES,
    "refuser": {**_TAKES, "post_accept_rate": 0.0, "reject_reason": "outside our area"},
    "crm": _TAKES,
    "mailer": {**_TAKES, "post_accept_rate": 0.0, "reject_reason": "mailbox full"},
    "busy": {**_TAKES, "misbehaviour": {"kind": "error", "status": 503, "on": "post"}},
    "audit": _TAKES,
}
_FINAL = {"delivered", "rejected", "failed", "unknown", "skipped"}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def step(mock: MockBuyer, name: str, **more: Any) -> dict[str, Any]:
    """A JSON post to the mock endpoint ``name`` with the lead's contact (PII) and zip."""
    return {
        "url": mock.post_url(name),
        "content_type": "json",
        "timeout_ms": 500,
        "body": {
            "fields": [
                {"from": "zip", "to": "zip"},
                {"from": "email", "to": "email"},
                {"from": "phone", "to": "phone"},
            ]
        },
        "response": {
            "accepted": {"json": "$.status", "equals": ["success"]},
            "reason": {"json": "$.reason"},
        },
        **more,
    }


def chained(mock: MockBuyer, name: str, price: str, chain: list[dict[str, Any]]) -> Any:
    """A fixed-price order of buyer ``name`` posted to its endpoint, then ``chain``."""
    delivery = {"post": step(mock, name), "chain": chain}
    return buyer(name, order(f"{name}_fixed", price, delivery=delivery))


def finished_chain(market: Market, lead_id: str, steps: int) -> list[dict[str, Any]]:
    """The lead's chain once each of its ``steps`` has a final status (10 s at most)."""
    give_up = time.monotonic() + 10
    while True:
        chain = market.lead(lead_id)["chain"]
        done = len(chain) == steps and all(c["status"] in _FINAL for c in chain)
        if done or time.monotonic() > give_up:
            return list(chain)
        time.sleep(0.05)


def chain_attempts(market: Market, lead_id: str, count: int) -> list[dict[str, Any]]:
    """The lead's chain attempts in the delivery log, once the writer stored ``count``."""
    give_up = time.monotonic() + 10
    while True:
        found = [a for a in market.lead(lead_id)["attempts"] if a["kind"] == "chain"]
        if len(found) >= count or time.monotonic() > give_up:
            return found
        time.sleep(0.05)


def test_each_step_runs_after_the_sold_post_and_a_failed_one_never_unsells_the_lead(
    market: Market, mock: MockBuyer
) -> None:
    chain = [
        {"name": "crm", **step(mock, "crm")},
        {"name": "mail", **step(mock, "mailer")},
        {"name": "audit", **step(mock, "audit")},
    ]
    market.apply(marketplace([chained(mock, "taker", "30.00", chain)]))
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "sold", answer
    lead_id = answer["lead_id"]

    steps = finished_chain(market, lead_id, 3)
    assert [(c["name"], c["status"], c["tries"]) for c in steps] == [
        ("crm", "delivered", 1),
        ("mail", "rejected", 1),  # the buyer said no: the next step still runs
        ("audit", "delivered", 1),
    ]
    assert steps[1]["reason"] == "mailbox full"
    # the chain carries the sold lead, PII included, each step with its own key
    (sale,) = market.lead(lead_id)["sales"]
    (to_crm,) = mock.requests_to("crm", "post")
    assert json.loads(to_crm.body)["email"] == CONTACT["email"].lower()
    assert to_crm.headers["Idempotency-Key"] == f"{sale['id']}.crm"
    assert len(mock.requests_to("audit", "post")) == 1
    # the sale stands, and the lead's answer is the post's
    lead = market.lead(lead_id)
    assert (lead["status"], sale["status"]) == ("sold", "sold")
    # every step is in the delivery log, the PII masked there
    attempts = chain_attempts(market, lead_id, 3)
    assert sorted(a["outcome"] for a in attempts) == ["accepted", "accepted", "rejected"]
    assert all(CONTACT["email"].lower() not in a["request_body"] for a in attempts)
    # and on the lead's page
    page = signed_in(market).get(f"/ui/leads/{lead_id}")
    assert page.status_code == 200
    assert 'data-step="mail"' in page.text
    assert "mailbox full" in page.text


def test_a_success_that_does_not_continue_ends_the_chain_and_a_503_is_retried(
    market: Market, mock: MockBuyer
) -> None:
    chain = [
        {"name": "busy", **step(mock, "busy", retries=1)},
        {"name": "crm", "continue_on_success": False, **step(mock, "crm")},
        {"name": "fallback", **step(mock, "audit")},
    ]
    market.apply(marketplace([chained(mock, "taker", "30.00", chain)]))
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "sold", answer

    steps = finished_chain(market, answer["lead_id"], 3)
    assert [(c["name"], c["status"], c["tries"]) for c in steps] == [
        ("busy", "failed", 2),  # the first try and one retry, then the chain goes on
        ("crm", "delivered", 1),
        ("fallback", "skipped", 0),
    ]
    assert len(mock.requests_to("busy", "post")) == 2
    assert mock.requests_to("audit", "post") == []
    assert market.lead(answer["lead_id"])["status"] == "sold"


def test_a_rejected_post_runs_no_chain_its_lead_falls_to_the_next_bidder(
    market: Market, mock: MockBuyer
) -> None:
    refuser = chained(mock, "refuser", "30.00", [{"name": "crm", **step(mock, "crm")}])
    market.apply(marketplace([refuser, chained(mock, "taker", "20.00", [])]))
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "sold", answer
    lead = market.lead(answer["lead_id"])
    assert {s["order_id"]: s["status"] for s in lead["sales"]} == {
        "refuser_fixed": "rejected",
        "taker_fixed": "sold",
    }
    assert lead["chain"] == []
    assert mock.requests_to("crm", "post") == []


def test_a_chain_step_is_checked_as_a_post_step(market: Market, mock: MockBuyer) -> None:
    chain = [
        {"name": "crm", **step(mock, "crm")},
        {"name": "crm", **step(mock, "audit"), "url": "ftp://crm.example/hook"},
    ]
    answer = market.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(marketplace([chained(mock, "taker", "30.00", chain)])),
        headers={**market.admin, "content-type": "application/yaml"},
    )
    assert answer.status_code == 422, answer.text
    where = {d["loc"][-1]: d["msg"] for d in answer.json()["detail"]}
    assert any(path.endswith("delivery.chain[1].name") for path in where), where
    assert any(path.endswith("delivery.chain[1].url") for path in where), where


def test_a_step_its_process_left_sending_is_sent_again_by_the_worker(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(
        marketplace([chained(mock, "taker", "30.00", [{"name": "crm", **step(mock, "crm")}])])
    )
    mock.reset()
    answer = market.sell()
    (done,) = finished_chain(market, answer["lead_id"], 1)
    assert (done["status"], done["tries"]) == ("delivered", 1)

    # as a process killed mid-send leaves it: sending, its lease run out
    async def abandon() -> None:
        engine = create_engine(market.settings.resolved_database_url())
        try:
            async with session_factory(engine).begin() as session:
                await session.execute(
                    update(ChainStepRow)
                    .where(ChainStepRow.sale_id == done["sale_id"])
                    .values(status="sending", lease_until=market.clock.now() - dt.timedelta(1))
                )
        finally:
            await engine.dispose()

    in_thread(lambda: asyncio.run(abandon()))
    give_up = time.monotonic() + 10
    while market.lead(answer["lead_id"])["chain"][0]["tries"] < 2 and time.monotonic() < give_up:
        time.sleep(0.05)
    (again,) = finished_chain(market, answer["lead_id"], 1)
    assert (again["status"], again["tries"]) == ("delivered", 2)
    # sent again (at least once), with the same Idempotency-Key for a buyer that dedupes
    first, second = mock.requests_to("crm", "post")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
