"""Sellers posting in their own formats (issue 17): inbound profiles over real HTTP.

Each file of ``fixtures/inbound`` models one real platform's published seller spec (its
``models`` says which): the profile a campaign would configure for such a seller, then its
calls in order (ping, post or direct post) with the answer each gets, in the seller's own
format and names, and the lead as stored under the vertical's names. One parametrized test
plays every file against a running pingtree selling to a fixed-price buyer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.api.market import Market, buyer, campaign, marketplace, order

FIXTURES = Path(__file__).parent / "fixtures" / "inbound"
_PATHS = {"ping": "ping", "post": "post", "leads": "leads"}


def read_answer(response: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The answer's names → values (a list when repeated), and its errors (field, type)."""
    if response.headers["content-type"].startswith("application/xml"):
        root = etree.fromstring(response.content)
        values: dict[str, Any] = {}
        errors = []
        for element in root:
            if "type" in element.attrib:
                errors.append((element.get("field", ""), element.get("type")))
            text = element.text or ""
            if element.tag in values:
                previous = values[element.tag]
                values[element.tag] = [
                    *(previous if isinstance(previous, list) else [previous]),
                    text,
                ]
            else:
                values[element.tag] = text
        return values, errors
    body = response.json()
    detail = body.get("detail")
    if isinstance(detail, list):
        errors = [(".".join(str(p) for p in e["loc"][1:]), e["type"]) for e in detail]
    elif isinstance(detail, dict):
        errors = [("", detail.get("type", ""))]
    else:
        errors = []
    return body, errors


def call(market: Market, profile: str, exchange: dict[str, Any], names: dict[str, str]) -> Any:
    def filled(text: str) -> str:
        for name, value in names.items():
            text = text.replace("{" + name + "}", value)
        return text

    url = f"/api/v1/in/acme_auto/{profile}/{_PATHS[exchange['call']]}"
    if "query" in exchange:
        url += "?" + filled(exchange["query"])
    body = exchange.get("body")
    content = None
    if body is not None:
        content = filled(body if isinstance(body, str) else json.dumps(body)).encode()
    headers = {}
    if exchange.get("content_type"):
        headers["content-type"] = exchange["content_type"]
    return market.http.request(
        exchange.get("method", "POST"), url, content=content, headers=headers
    )


def check(exchange: dict[str, Any], response: Any) -> dict[str, Any]:
    assert response.status_code == exchange["status"], response.text
    values, errors = read_answer(response)
    for name, expected in exchange["answer"].items():
        assert name in values, (name, response.text)
        if expected != "*":
            assert values[name] == expected, (name, response.text)
    for error in exchange.get("errors", []):
        assert (error["field"], error["type"]) in errors, (error, response.text)
    return values


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_a_seller_in_its_own_format(market: Market, path: Path) -> None:
    fixture = json.loads(path.read_text())
    assert fixture["models"]
    profile = fixture["profile"]
    market.apply(
        marketplace([buyer("shield", order("shield_all", "20.00"))], [campaign(inbound=[profile])])
    )
    names = {"api_key": market.key()}
    lead_id = None
    for exchange in fixture["exchanges"]:
        values = check(exchange, call(market, profile["id"], exchange, names))
        if "ping_id_at" in exchange:
            names["ping_id"] = values[exchange["ping_id_at"]]
        if "lead_id_at" in exchange:
            lead_id = values[exchange["lead_id_at"]]
    assert lead_id is not None
    lead = market.lead(lead_id, reveal=True)
    assert lead["status"] == "sold"
    for name, value in fixture["lead"].items():
        assert lead["fields"][name] == value, (name, lead["fields"])
