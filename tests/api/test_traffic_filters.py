"""The admin API's traffic lists: the filters the UI's search forms use too."""

from __future__ import annotations

import time
from typing import Any

from tests.api.market import Market, buyer, marketplace, order

TEXAS_ONLY = {"all": [{"field": "state", "op": "in", "value": ["TX"]}]}


def _ids(market: Market, path: str, **params: Any) -> list[str]:
    answer = market.http.get(f"/api/v1/admin/{path}", headers=market.admin, params=params)
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()]


def test_leads_by_buyer_test_flag_and_creation_time(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "25.00")),
                buyer("texan", order("texan_tx", "40.00", filters=TEXAS_ONLY)),
            ]
        )
    )
    florida = market.sell()["lead_id"]
    texas = market.sell({"zip": "73301", "state": "TX", "age": 40})["lead_id"]

    assert _ids(market, "leads", buyer_id="texan") == [texas]
    assert _ids(market, "leads", buyer_id="shield") == [florida]
    assert _ids(market, "leads", test=True) == []
    assert _ids(market, "leads", test=False) == [texas, florida]
    # naive times are UTC; ``until`` is excluded
    assert _ids(market, "leads", since="2026-11-23T15:00:00") == [texas, florida]
    assert _ids(market, "leads", until="2026-11-23T15:00:00Z") == []
    assert _ids(market, "leads", since="2026-11-23T15:00:01+00:00") == []
    assert _ids(market, "leads", before=texas) == [florida]


def test_pings_by_status_and_test_flag(market: Market) -> None:
    market.apply(marketplace([buyer("texan", order("texan_tx", "40.00", filters=TEXAS_ONLY))]))
    refused = market.ping()["ping_id"]
    accepted = market.ping({"zip": "73301", "state": "TX"})["ping_id"]
    # pings are stored by a batching writer, just after the answer
    for _ in range(100):
        if len(_ids(market, "pings")) == 2:
            break
        time.sleep(0.05)
    assert _ids(market, "pings", status="accepted") == [accepted]
    assert _ids(market, "pings", status="rejected") == [refused]
    assert _ids(market, "pings", test=False) == [accepted, refused]
    assert _ids(market, "pings", test=True) == []


def test_bad_filters_are_422(market: Market) -> None:
    for params in ({"test": "perhaps"}, {"since": "yesterday"}):
        answer = market.http.get("/api/v1/admin/leads", headers=market.admin, params=params)
        assert answer.status_code == 422, params
