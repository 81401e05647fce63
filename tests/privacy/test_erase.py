"""Erasing a person (DESIGN §8.5, issue 12): by email, by phone in any spelling, by lead id,
from the admin API and the command line, and the PII retention.

Leads are sold to real buyers over loopback HTTP: one that refuses the post naming the
person in its reason, one that takes it and echoes the lead back with the email in its
redirect URL (as buyers that confirm what they got do). After the erasure no table holds
the person's values in any row, the lead's fields decrypt to nothing, the money is as it
was, dedup no longer knows the person, and the erasure is in the audit trail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select

from pingtree.api.app import create_app
from pingtree.settings import Settings
from pingtree.store.db import create_engine
from pingtree.store.secrets import PiiVault, load_server_key
from pingtree.store.set_aside import SET_ASIDE, set_aside_row
from pingtree.store.tables import AttemptRow, Base, DedupKey, Lead
from tests.api.conftest import MONDAY_10AM_NEW_YORK, SECRET, admin_token, market_settings
from tests.api.market import PING, Market, buyer, campaign, marketplace, order
from tests.support.clock import FrozenClock
from tests.support.server import serve_app
from tests.web.conftest import in_thread
from tests.web.session import csrf_token, sign_in

ZEB = {"first_name": "Zebulon", "phone": "+13055550142", "email": "Zeb.Quill@Example.com"}
#: how the person's values may sit in a row: as sent, normalized, URL-encoded
ZEB_TRACES = ("zebulon", "zeb.quill@example.com", "zeb.quill%40example.com", "5550142")
MARI = {"first_name": "Marisol", "phone": "(786) 555-0199", "email": "mari.keep@example.com"}
MARI_TRACES = ("marisol", "mari.keep@example.com", "mari.keep%40example.com", "7865550199")


# --- the buyers --------------------------------------------------------------------------


def buyer_app() -> FastAPI:
    """``/take`` accepts a post and echoes it back (the email also in its redirect URL);
    ``/refuse`` rejects it naming the person; ``/busy`` is down (503); ``/unsure`` fails
    after taking it (500: the outcome is unknown)."""
    app = FastAPI()

    @app.post("/take")
    async def take(request: Request) -> dict[str, Any]:
        lead = await request.json()
        redirect = f"https://buyer.invalid/thanks?email={quote(lead['email'], safe='')}"
        return {"status": "success", "echo": lead, "redirect_url": redirect}

    @app.post("/refuse")
    async def refuse(request: Request) -> dict[str, Any]:
        lead = await request.json()
        return {"status": "failure", "reason": f"we have {lead['first_name']} <{lead['email']}>"}

    @app.post("/busy")
    async def busy() -> JSONResponse:
        return JSONResponse({"status": "error"}, status_code=503)

    @app.post("/unsure")
    async def unsure() -> JSONResponse:
        return JSONResponse({"status": "error"}, status_code=500)

    return app


@pytest.fixture(scope="module")
def buyers() -> Iterator[str]:
    with serve_app(buyer_app()) as url:
        yield url


def posting(url: str, name: str, price: str, **extra: Any) -> dict[str, Any]:
    step = {
        "url": url,
        "content_type": "json",
        "timeout_ms": 2000,
        "retries": 3,
        "body": {
            "fields": [
                {"from": name, "to": name} for name in ("zip", "first_name", "phone", "email")
            ]
        },
        "response": {
            "accepted": {"json": "$.status", "equals": ["success"]},
            "redirect_url": {"json": "$.redirect_url"},
            "reason": {"json": "$.reason"},
        },
    }
    return buyer(name, order(f"{name}_fixed", price, delivery={"post": step}, **extra))


def the_market(buyers: str, **campaign_options: Any) -> dict[str, Any]:
    """The refuser bids more and says no; the taker, which dedupes for 30 days, buys."""
    return marketplace(
        [
            posting(f"{buyers}/refuse", "refuser", "40.00"),
            posting(f"{buyers}/take", "taker", "30.00", dedup_days=30),
        ],
        [campaign(**campaign_options)],
    )


# --- reading the database ------------------------------------------------------------------


def run(coroutine: Any) -> Any:
    return in_thread(lambda: asyncio.run(coroutine))


async def _rows_text(url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, by table."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                table.name: [
                    json.dumps(list(row), default=str, ensure_ascii=False).casefold()
                    for row in await connection.execute(select(table))
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


def traces_of(market: Market, traces: tuple[str, ...]) -> dict[str, int]:
    """Per table, how many rows hold any of ``traces`` (empty: none anywhere)."""
    found: dict[str, int] = {}
    for table, rows in run(_rows_text(market.settings.resolved_database_url())).items():
        holding = sum(1 for row in rows if any(trace in row for trace in traces))
        if holding:
            found[table] = holding
    return found


async def _select(url: str, statement: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(statement))
    finally:
        await engine.dispose()


def redirect_of(market: Market, lead_id: str) -> str:
    """The buyer's redirect URL in the lead's answer, sealed at rest, opened by a reveal."""
    return str(market.lead(lead_id, reveal=True)["answer"]["redirect_url"])


def select_rows(market: Market, statement: Any) -> list[Any]:
    rows: list[Any] = run(_select(market.settings.resolved_database_url(), statement))
    return rows


def decrypted_fields(market: Market, lead_id: str) -> dict[str, str]:
    """The lead's stored values that decrypt: its PII, as the database keeps it."""
    vault = PiiVault(load_server_key(SECRET, market.settings.data_dir))
    ((fields,),) = select_rows(market, select(Lead.fields).where(Lead.id == lead_id))
    return {
        name: vault.decrypt(value)
        for name, value in fields.items()
        if isinstance(value, str) and vault.is_encrypted(value)
    }


def keep_aside(market: Market, lead_id: str) -> None:
    """What the delivery log's writer keeps when it cannot store an attempt of the lead."""
    (attempt,) = select_rows(
        market, select(AttemptRow).where(AttemptRow.lead_id == lead_id).limit(1)
    )
    row = set_aside_row("attempt-log", attempt.id, attempt._asdict(), ValueError("too big"))

    async def store() -> None:
        engine = create_engine(market.settings.resolved_database_url())
        try:
            async with engine.begin() as connection:
                await connection.execute(insert(SET_ASIDE).values(**row))
        finally:
            await engine.dispose()

    run(store())


# --- the API -------------------------------------------------------------------------------


def posted_attempts(market: Market, lead_id: str, count: int) -> None:
    """Wait until the batching writer stored the lead's ``count`` post attempts."""
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        posts = [a for a in market.lead(lead_id)["attempts"] if a["kind"] == "post"]
        if len(posts) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"lead {lead_id} has fewer than {count} post attempts")


def erase(market: Market, **asked: str) -> httpx.Response:
    return market.http.post("/api/v1/admin/erasures", json=asked, headers=market.admin)


def erasures(market: Market) -> list[dict[str, Any]]:
    response = market.http.get("/api/v1/admin/erasures", headers=market.admin)
    assert response.status_code == 200, response.text
    return list(response.json())


def money(market: Market) -> tuple[list[tuple[str, str, str, str]], dict[str, Any]]:
    """Every sale's (id, status, revenue, cost), and the report's figures of the day."""
    response = market.http.get("/api/v1/admin/sales", headers=market.admin)
    assert response.status_code == 200, response.text
    sales = sorted((s["id"], s["status"], s["revenue"], s["cost"]) for s in response.json())
    report = market.http.get(
        "/api/v1/admin/reports/summary",
        params={"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"},
        headers=market.admin,
    )
    assert report.status_code == 200, report.text
    figures = {k: v for k, v in report.json().items() if k not in ("start", "end")}
    return sales, figures


# --- the tests -----------------------------------------------------------------------------


def test_erasing_by_email_removes_the_person_everywhere_and_keeps_the_money(
    market: Market, buyers: str
) -> None:
    market.apply(the_market(buyers))
    first = market.sell({**PING, **ZEB})
    assert first["status"] == "sold", first
    kept = market.direct_post({**PING, **MARI})
    assert kept["status"] == "sold", kept
    # the same person again, spelled otherwise: the taker has bought them (dedup), the
    # refuser refuses, so the lead goes unsold
    again = market.direct_post({**PING, **ZEB, "phone": "305.555.0142", "email": "ZEB.QUILL@x.io"})
    assert again["status"] == "rejected", again
    posted_attempts(market, first["lead_id"], 2)
    posted_attempts(market, again["lead_id"], 1)
    keep_aside(market, first["lead_id"])
    keep_aside(market, kept["lead_id"])
    before = money(market)
    # nothing of the person is in clear in the outbox or the lead (what the buyers said is
    # masked, the fields and the buyer's redirect URL sealed), but the sealed redirect URL
    # holds their email: a reveal opens it
    held = traces_of(market, ZEB_TRACES)
    assert not {"deliveries", "leads"} & held.keys(), held
    assert "zeb.quill%40example.com" in redirect_of(market, first["lead_id"])

    done = erase(market, email="  zeb.quill@EXAMPLE.com ")
    assert done.status_code == 201, done.text
    record = done.json()
    # the email finds the first lead; the second has another email and the same phone
    assert (record["kind"], record["leads"], record["principal"]) == (
        "email",
        1,
        f"key:{market.admin_token.split('_')[1]}",
    )
    by_phone = erase(market, phone="305 555 0142")
    assert by_phone.status_code == 201, by_phone.text
    assert by_phone.json()["leads"] == 1  # the second lead: the first is erased already

    assert traces_of(market, ZEB_TRACES) == {}
    for lead_id in (first["lead_id"], again["lead_id"]):
        assert decrypted_fields(market, lead_id) == {}
        # the delivery log keeps where and when, not what (a buyer's echo may hold PII)
        for attempt in select_rows(market, select(AttemptRow).where(AttemptRow.lead_id == lead_id)):
            assert (attempt.request_body, attempt.response_body) == ("", "")
            assert (attempt.request_headers, attempt.response_headers, attempt.parsed) == (
                {},
                {},
                {},
            )
            assert attempt.url == buyers
        lead = market.lead(lead_id, reveal=True)
        assert lead["erased_at"] is not None
        assert {lead["fields"][name] for name in ("first_name", "phone", "email")} == {"[erased]"}
        assert (lead["fields"]["zip"], lead["fields"]["age"]) == ("33101", 34)
        assert select_rows(market, select(DedupKey.id).where(DedupKey.lead_id == lead_id)) == []
    sold = market.lead(first["lead_id"])
    assert (sold["status"], sold["revenue"], sold["cost"]) == ("sold", "30.00", "21.00")
    assert redirect_of(market, first["lead_id"]) == "[erased]"
    assert [s["status"] for s in sold["sales"]] == ["rejected", "sold"]
    # the money and the figures are as they were
    assert money(market) == before
    # the row set aside for the person is gone, the other person's stays
    aside = select_rows(market, select(SET_ASIDE.c.row))
    assert [row["lead_id"] for (row,) in aside] == [kept["lead_id"]]
    # the other person is untouched
    assert "mari.keep%40example.com" in redirect_of(market, kept["lead_id"])
    assert decrypted_fields(market, kept["lead_id"]) == {
        "first_name": "Marisol",
        "phone": "7865550199",
        "email": "mari.keep@example.com",
    }
    # dedup no longer knows the person: the taker buys them again
    resold = market.direct_post({**PING, **ZEB})
    assert (resold["status"], resold["price"]) == ("sold", "21.00"), resold
    # the audit trail keeps the HMAC of what was asked, never the value
    trail = erasures(market)
    assert [(e["kind"], e["leads"]) for e in trail] == [("phone", 1), ("email", 1)]
    for entry in trail:
        assert len(entry["subject"]) == 64
        assert int(entry["subject"], 16) >= 0
    assert "zeb" not in json.dumps(trail).casefold()
    assert "5550142" not in json.dumps(trail)


def test_erasing_by_phone_in_another_format_and_by_lead_id(market: Market, buyers: str) -> None:
    market.apply(the_market(buyers))
    sold = market.sell({**PING, **ZEB})
    other = market.direct_post({**PING, **MARI})
    # a test lead never enters the dedup history: found by its decrypted phone
    tried = market.direct_post({**PING, **ZEB}, test=True)
    posted_attempts(market, sold["lead_id"], 2)
    posted_attempts(market, other["lead_id"], 1)
    assert decrypted_fields(market, tried["lead_id"])["phone"] == "3055550142"

    done = erase(market, phone="(305) 555-0142")
    assert done.status_code == 201, done.text
    assert done.json()["leads"] == 2
    assert decrypted_fields(market, tried["lead_id"]) == {}
    assert traces_of(market, ZEB_TRACES) == {}
    assert "mari.keep%40example.com" in redirect_of(market, other["lead_id"])

    by_id = erase(market, lead_id=other["lead_id"])
    assert by_id.status_code == 201, by_id.text
    assert (by_id.json()["kind"], by_id.json()["subject"]) == ("lead", other["lead_id"])
    assert traces_of(market, MARI_TRACES) == {}
    assert redirect_of(market, other["lead_id"]) == "[erased]"
    assert decrypted_fields(market, other["lead_id"]) == {}
    assert market.lead(other["lead_id"])["status"] == "sold"

    # what cannot be erased is a 4xx naming the field, never echoing the value
    unknown = erase(market, lead_id="0190aaaa-0000-7000-8000-000000000000")
    assert unknown.status_code == 404, unknown.text
    for hostile in ("no-such-lead", "1\x00", "' OR 1=1 --"):
        refused = erase(market, lead_id=hostile)
        assert refused.status_code == 422, refused.text
    assert erase(market, email="a\x00@b.co").status_code == 422
    paged = market.http.get(
        "/api/v1/admin/erasures", params={"before": "1\x00"}, headers=market.admin
    )
    assert paged.status_code == 422
    bad = erase(market, email="not an email")
    assert bad.status_code == 422, bad.text
    (error,) = bad.json()["detail"]
    assert error["loc"] == ["body", "email"]
    assert error.get("input") is None
    both = erase(market, email="a@b.co", phone="3055550142")
    assert both.status_code == 422, both.text
    assert "exactly one" in both.text
    assert erase(market).status_code == 422


def test_only_admins_erase_and_read_the_erasures(market: Market, buyers: str) -> None:
    market.apply(the_market(buyers))
    sold = market.sell({**PING, **ZEB})
    other = market.direct_post({**PING, **MARI})
    seller = market.seller()
    refused = market.http.post(
        "/api/v1/admin/erasures", json={"lead_id": sold["lead_id"]}, headers=seller
    )
    assert refused.status_code == 403
    assert market.http.get("/api/v1/admin/erasures", headers=seller).status_code == 403
    assert erase(market, lead_id=sold["lead_id"]).status_code == 201
    # in the UI: an admin sees the trail and erases, an analyst or an operator may not
    base = str(market.http.base_url)
    for username, status in (("ada", 200), ("otto", 403), ("ana", 403)):
        with httpx.Client(base_url=base, timeout=30) as browser:
            assert sign_in(browser, username).status_code == 303
            # the navigation shows the section to whoever may open it
            assert ('href="/ui/erasures"' in browser.get("/ui").text) is (status == 200)
            page = browser.get("/ui/erasures")
            assert page.status_code == status, (username, page.text)
            if status != 200:
                assert sold["lead_id"] not in page.text
                form = {"by": "email", "value": MARI["email"], "confirm": "true"}
                tried = browser.post("/ui/erasures", data=form)
                assert tried.status_code == 403  # no form, no token: refused either way
                continue
            assert sold["lead_id"] in page.text
            form = {"by": "email", "value": "MARI.KEEP@example.com", "confirm": "true"}
            forged = browser.post("/ui/erasures", data=form)
            assert forged.status_code == 403  # no CSRF token
            form["csrf_token"] = csrf_token(page.text)
            unconfirmed = browser.post("/ui/erasures", data={**form, "confirm": "false"})
            assert unconfirmed.status_code == 400
            bad = browser.post("/ui/erasures", data={**form, "value": "mari at example"})
            assert bad.status_code == 422
            assert "mari at example" not in bad.text
            done = browser.post("/ui/erasures", data=form)
            assert done.status_code == 303, done.text
            shown = browser.get(done.headers["location"])
            assert "Erased the personal data of 1 lead(s)" in shown.text
            assert "mari.keep" not in shown.text.casefold()
    assert decrypted_fields(market, other["lead_id"]) == {}
    newest = erasures(market)[0]
    assert (newest["kind"], newest["leads"]) == ("email", 1)
    assert newest["principal"].startswith("user:")


# --- the command line and the retention ------------------------------------------------------


def cli(market: Market, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PINGTREE_DATA_DIR": str(market.settings.data_dir),
        "PINGTREE_DATABASE_URL": market.settings.resolved_database_url(),
        "PINGTREE_SECRET_KEY": SECRET,
    }
    env.pop("PINGTREE_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "pingtree", "erase", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_line_erases_a_person_and_old_leads(market: Market, buyers: str) -> None:
    market.apply(the_market(buyers))
    now = dt.datetime.now(dt.UTC)
    market.clock.set(now - dt.timedelta(days=40))
    old = market.direct_post({**PING, **MARI})
    market.clock.set(now - dt.timedelta(days=2))
    recent = market.direct_post({**PING, **MARI, "first_name": "Marisol Recent"})
    sold = market.sell({**PING, **ZEB})
    for lead in (old, recent):
        posted_attempts(market, lead["lead_id"], 1)
    posted_attempts(market, sold["lead_id"], 2)

    done = cli(market, "--phone", "305-555-0142")
    assert done.returncode == 0, done.stderr
    assert "erased the PII of 1 lead(s)" in done.stdout
    assert traces_of(market, ZEB_TRACES) == {}

    bad = cli(market, "--email", "nope")
    assert bad.returncode == 1
    assert "--email:" in bad.stderr
    assert "nope" not in bad.stderr

    purged = cli(market, "--older-than-days", "30")
    assert purged.returncode == 0, purged.stderr
    assert "erased the PII of 1 lead(s) older than 30 day(s)" in purged.stdout
    assert decrypted_fields(market, old["lead_id"]) == {}
    assert decrypted_fields(market, recent["lead_id"])["first_name"] == "Marisol Recent"
    trail = erasures(market)
    assert [(e["principal"], e["kind"], e["leads"]) for e in trail] == [
        ("cli", "retention", 1),
        ("cli", "phone", 1),
    ]
    assert trail[0]["older_than"] is not None
    # a second run finds nothing more
    again = cli(market, "--older-than-days", "30")
    assert "erased the PII of 0 lead(s)" in again.stdout


@pytest.fixture
def kept_30_days(tmp_path: Path, buyers: str) -> Iterator[Market]:
    """A server that erases PII after 30 days, checked every 0.2 s, and retries a post
    that reached nobody only after 2 s."""
    clock = FrozenClock(MONDAY_10AM_NEW_YORK)
    settings: Settings = in_thread(lambda: market_settings(tmp_path)).model_copy(
        update={
            "pii_retention_days": 30,
            "pii_retention_check_seconds": 0.2,
            "outbox_backoff_seconds": 2.0,
        }
    )
    token = in_thread(lambda: admin_token(settings))
    with (
        serve_app(create_app(settings, clock=clock)) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        yield Market(http, token, clock, settings)


def test_retention_erases_only_leads_older_than_n_days(kept_30_days: Market, buyers: str) -> None:
    market = kept_30_days
    market.apply(the_market(buyers))
    old = market.sell({**PING, **ZEB})
    posted_attempts(market, old["lead_id"], 2)
    market.clock.advance(days=20)
    young = market.direct_post({**PING, **MARI})
    posted_attempts(market, young["lead_id"], 1)
    time.sleep(0.5)
    assert decrypted_fields(market, old["lead_id"])  # 20 days old: kept
    before = money(market)

    market.clock.advance(days=11)  # the first lead is 31 days old, the second 11
    give_up = time.monotonic() + 10
    while decrypted_fields(market, old["lead_id"]) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert decrypted_fields(market, old["lead_id"]) == {}
    assert traces_of(market, ZEB_TRACES) == {}
    assert decrypted_fields(market, young["lead_id"])["email"] == "mari.keep@example.com"
    assert money(market) == before
    (entry,) = erasures(market)
    assert (entry["principal"], entry["kind"], entry["leads"]) == ("retention", "retention", 1)
    assert entry["older_than"].startswith("2026-11-24")  # 31 - 30 days after the sale


def test_a_post_still_queued_is_abandoned_not_sent_after_the_erasure(
    kept_30_days: Market, buyers: str
) -> None:
    market = kept_30_days
    config = marketplace(
        [posting(f"{buyers}/busy", "busy", "30.00")], [campaign(wait_for_delivery=False)]
    )
    market.apply(config)
    accepted = market.direct_post({**PING, **ZEB})
    assert accepted["status"] == "accepted", accepted
    lead_id = accepted["lead_id"]
    posted_attempts(market, lead_id, 1)  # 503: queued again, for 2 s from now
    done = erase(market, lead_id=lead_id)
    assert done.status_code == 201, done.text
    lead = market.lead(lead_id)
    assert [s["status"] for s in lead["sales"]] == ["rejected"]
    assert lead["status"] == "unsold"
    time.sleep(3)  # past the retry's backoff: nothing more reached the buyer
    posts = [a for a in market.lead(lead_id)["attempts"] if a["kind"] == "post"]
    assert len(posts) == 1
    assert traces_of(market, ZEB_TRACES) == {}


def test_an_unknown_post_resolved_undelivered_after_the_erasure_goes_to_no_other_buyer(
    market: Market, buyers: str
) -> None:
    """The next bidder would get a lead without its person: the lead settles instead."""
    config = marketplace(
        [
            posting(f"{buyers}/unsure", "unsure", "40.00"),
            posting(f"{buyers}/take", "taker", "30.00"),
        ],
        [campaign(wait_for_delivery=False)],
    )
    market.apply(config)
    accepted = market.direct_post({**PING, **ZEB})
    assert accepted["status"] == "accepted", accepted
    lead_id = accepted["lead_id"]
    posted_attempts(market, lead_id, 1)
    [sale] = market.lead(lead_id)["sales"]
    assert sale["status"] == "unknown", sale
    assert erase(market, lead_id=lead_id).status_code == 201

    resolved = market.http.post(
        f"/api/v1/admin/sales/{sale['id']}/resolve", json={"delivered": False}, headers=market.admin
    )
    assert resolved.status_code == 200, resolved.text
    lead = market.lead(lead_id)
    assert [s["status"] for s in lead["sales"]] == ["rejected"]
    assert lead["status"] == "unsold"
    posts = [a for a in lead["attempts"] if a["kind"] == "post"]
    assert [a["order_id"] for a in posts] == ["unsure_fixed"]
