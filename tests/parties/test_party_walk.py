"""Scope is data, tested by walking (DESIGN §9), for the parties' own keys: a buyer's key and
a supplier's key each call every GET route of the API (the OpenAPI document's), its path
parameters filled with each party's real ids in turn. No answer may hold what the key's
party must not see, none may fail with a 5xx, and the admin API is 403 to both."""

from __future__ import annotations

import re
from typing import Any

from tests.api.market import Market
from tests.parties.market import (
    ALPHA_PRICE,
    BRAVO_PRICE,
    FLORIDA,
    TEXAS,
    bearer,
    party_key,
    sell,
    two_buyers,
)

_PARAM = re.compile(r"{(\w+)}")


def _fill(path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values.get(m.group(1), "unknown"), path)


def _leaks(answer: Any, words: list[str]) -> list[str]:
    asked = str(answer.request.url)
    return [w for w in words if w in answer.text and w not in asked]


def test_a_buyer_key_and_a_supplier_key_see_only_their_own_party(market: Market) -> None:
    market.apply(two_buyers())
    alpha_lead = sell(market, FLORIDA, "north_auto", "(305) 555-0101", sub_id="n1")
    bravo_lead = sell(market, TEXAS, "south_auto", "(305) 555-0102", sub_id="s1")
    alpha, bravo = party_key(market, "buyer", "alpha"), party_key(market, "buyer", "bravo")
    north = party_key(market, "supplier", "north")
    for key, lead_id, value, note in (
        (alpha, alpha_lead, "1111.11", "alpha-note"),
        (bravo, bravo_lead, "2222.22", "bravo-note"),
    ):
        reported = market.http.post(
            f"/api/v1/buyer/leads/{lead_id}/dispositions",
            headers=bearer(key),
            json={"code": "sold", "value": value, "note": note},
        )
        assert reported.status_code == 201, reported.text

    # what each key's party must never see
    not_to_alpha = ["bravo", "Bravo Cov", BRAVO_PRICE, bravo_lead, "2222.22", "bravo-note"]
    not_to_alpha += ["North Media", "South Media", "28.81"]  # suppliers and their payouts
    not_to_north = ["south", "South Media", bravo_lead, "alpha", "bravo", "Alpha Ins"]
    # (its own leads' downstream value is in its dispositions report, summed: not a lead's)
    not_to_north += [ALPHA_PRICE, BRAVO_PRICE, "2222.22", "alpha-note", "bravo-note"]

    paths = market.http.get("/openapi.json").json()["paths"]
    variants = [
        {
            "lead_id": lead_id,
            "buyer_id": buyer_id,
            "supplier_id": supplier_id,
            "campaign_id": f"{supplier_id}_auto",
            "order_id": order_id,
            "vertical_id": "auto",
        }
        for lead_id, buyer_id, supplier_id, order_id in (
            (alpha_lead, "alpha", "north", "alpha_fl"),
            (bravo_lead, "bravo", "south", "bravo_tx"),
        )
    ]
    problems: list[str] = []
    seen = 0
    for path, operations in sorted(paths.items()):
        if "get" not in operations or path == "/metrics":
            continue
        for values in variants:
            url = _fill(path, values)
            for name, key, words in (
                ("alpha", alpha, not_to_alpha),
                ("north", north, not_to_north),
            ):
                answer = market.http.get(url, headers=bearer(key))
                seen += 1
                if answer.status_code >= 500:
                    problems.append(f"GET {url} as {name}: {answer.status_code}")
                if path.startswith("/api/v1/admin") and answer.status_code != 403:
                    problems.append(f"GET {url} as {name}: {answer.status_code}, not 403")
                if leaks := _leaks(answer, words):
                    problems.append(f"GET {url} as {name} ({answer.status_code}) shows {leaks}")
    assert seen > 100, "the API's routes were not found"
    assert not problems, "\n".join(problems)

    # and each sees its own
    own = market.http.get(f"/api/v1/buyer/leads/{alpha_lead}/dispositions", headers=bearer(alpha))
    assert own.json()[0]["note"] == "alpha-note"
    report = market.http.get("/api/v1/supplier/reports/dispositions", headers=bearer(north))
    assert [(r["campaign"], r["sub_id"], r["value"]) for r in report.json()["rows"]] == [
        ("north_auto", "n1", "1111.11")
    ]
