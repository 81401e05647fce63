"""Back-pressure, never silent loss (DESIGN §9), at the seller API: a value no store can keep
is a 422 at the door, a writer that is behind turns new work away with 503 and
``Retry-After``, and what a writer could not store is shown to an operator."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from pingtree.store.db import create_engine, session_factory
from pingtree.store.ping_writer import PingWriter
from pingtree.store.set_aside import SET_ASIDE, set_aside_row
from tests.api.conftest import database_down
from tests.api.market import AUTO_VERTICAL, CONTACT, PING, Market, buyer, marketplace, order

#: 20 digits: past 64 bits, which is what stopped the pings' writer for good (issue 11)
HUGE = "12345678901234567890"


def _with_vehicles(config: dict[str, Any]) -> dict[str, Any]:
    """The market with an integer field that has no ``max``: nothing but 64 bits bounds it."""
    vertical = copy.deepcopy(AUTO_VERTICAL)
    vertical["fields"].append({"name": "vehicles", "type": "integer"})
    return {**config, "verticals": [vertical]}


def _error_types(response: httpx.Response) -> dict[tuple[Any, ...], str]:
    return {tuple(e["loc"]): e["type"] for e in response.json()["detail"]}


@pytest.mark.parametrize("huge", [HUGE, int(HUGE)], ids=["text", "number"])
def test_a_20_digit_integer_is_a_422_everywhere_and_pings_go_on_being_stored(
    market: Market, huge: object
) -> None:
    market.apply(_with_vehicles(marketplace([buyer("shield", order("shield_fl", "25.00"))])))
    seller = market.seller()
    refused = market.http.post(
        "/api/v1/ping", json={"fields": {**PING, "vehicles": huge}}, headers=seller
    )
    assert refused.status_code == 422, refused.text
    assert _error_types(refused) == {("body", "fields", "vehicles"): "integer_out_of_range"}

    pinged = market.ping()
    lead = {**PING, **CONTACT, "vehicles": huge}
    for path, body in [
        ("/api/v1/post", {"ping_id": pinged["ping_id"], "fields": lead}),
        ("/api/v1/leads", {"fields": lead}),
    ]:
        response = market.http.post(path, json=body, headers=seller)
        assert response.status_code == 422, (path, response.text)
        assert _error_types(response) == {("body", "fields", "vehicles"): "integer_out_of_range"}

    # the writer was never fed what it cannot store: pings are still stored, posts still sell
    assert market.ping_trace(pinged["ping_id"])["id"] == pinged["ping_id"]
    assert market.post(pinged["ping_id"])["status"] == "sold"
    later = market.ping({**PING, "vehicles": 2})
    assert market.ping_trace(later["ping_id"])["fields"]["vehicles"] == 2
    aside = market.http.get("/api/v1/admin/set-aside", headers=market.admin).json()
    assert aside == {"counts": {}, "total": 0, "rows": []}


def test_an_idempotency_key_longer_than_its_column_is_a_422(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    response = market.http.post(
        "/api/v1/ping",
        json={"fields": PING},
        headers={**market.seller(), "Idempotency-Key": "k" * 201},
    )
    assert response.status_code == 422
    assert _error_types(response) == {("header", "idempotency-key"): "too_long"}


def test_set_aside_rows_are_shown_to_admins_only(market: Market) -> None:
    market.apply(marketplace([]))
    url = market.settings.resolved_database_url()
    asyncio.run(_set_aside(url, {"id": "p-1", "fields": {"vehicles": 10**20}}))
    shown = market.http.get("/api/v1/admin/set-aside", headers=market.admin)
    assert shown.status_code == 200
    answer = shown.json()
    assert (answer["counts"], answer["total"]) == ({"ping-writer": 1}, 1)
    (row,) = answer["rows"]
    assert (row["writer"], row["row_key"]) == ("ping-writer", "p-1")
    assert row["row"] == {"id": "p-1", "fields": {"vehicles": str(10**20)}}
    assert row["error"] == "TypeError: Integer exceeds 64-bit range"
    assert market.http.get("/api/v1/admin/set-aside").status_code == 401
    as_seller = market.http.get("/api/v1/admin/set-aside", headers=market.seller())
    assert as_seller.status_code == 403


async def _set_aside(url: str, row: dict[str, Any]) -> None:
    """Set ``row`` aside as the pings' writer does when the database refuses it."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            error = TypeError("Integer exceeds 64-bit range")
            await session.execute(
                insert(SET_ASIDE), [set_aside_row("ping-writer", row["id"], row, error)]
            )
    finally:
        await engine.dispose()


def test_a_post_stores_its_ping_claimed_when_the_writer_has_not_stored_it(
    writing: tuple[Market, PingWriter],
) -> None:
    market, writer = writing
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    with database_down(writer):  # the pings' writer stores nothing meanwhile
        pinged = market.ping()
        assert writer.get(pinged["ping_id"]) is not None  # queued here, not stored
        sold = market.post(pinged["ping_id"])
        assert sold["status"] == "sold"
        # taken from the writer and stored with the sale: nothing left to write
        assert (writer.backlog, writer.get(pinged["ping_id"])) == (0, None)
    stored = market.ping_trace(pinged["ping_id"])
    assert (stored["status"], stored["lead_id"]) == ("accepted", sold["lead_id"])
    assert market.post(pinged["ping_id"]) == sold  # claimed by it: the first answer again
    aside = market.http.get("/api/v1/admin/set-aside", headers=market.admin).json()
    assert aside["total"] == 0  # never written twice


def test_a_writer_that_is_behind_turns_new_work_away_with_503(
    behind: tuple[Market, PingWriter],
) -> None:
    market, writer = behind
    market.apply(marketplace([]))  # no buyers: a ping writes nothing but its own row
    seller = market.seller()
    with database_down(writer):
        first = market.ping()
        assert first["status"] == "rejected"  # answered; its row is queued, not dropped
        for path, body in [
            ("/api/v1/ping", {"fields": PING}),
            ("/api/v1/post", {"ping_id": first["ping_id"], "fields": {**PING, **CONTACT}}),
            ("/api/v1/leads", {"fields": {**PING, **CONTACT}}),
        ]:
            refused = market.http.post(path, json=body, headers=seller)
            assert refused.status_code == 503, (path, refused.text)
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["detail"]["type"] == "unavailable"
        ready = market.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "behind", "writers": ["ping-writer"]}
    # the database is back: the queued ping was kept and written (at the writer's next try,
    # after its backoff), new work is taken again
    give_up_at = time.monotonic() + 10
    while writer.backlog and time.monotonic() < give_up_at:
        time.sleep(0.05)
    assert (writer.backlog, writer.set_aside_count, writer.lost_count) == (0, 0, 0)
    assert market.ping_trace(first["ping_id"])["status"] == "rejected"
    later = market.ping()
    assert later["status"] == "rejected"
    market.ping_trace(later["ping_id"])  # written
    assert market.http.get("/readyz").status_code == 200
