"""Sellers posting in their own formats (issue 17): inbound profiles over real HTTP.

Each file of ``fixtures/inbound`` models one real platform's published seller spec (its
``models`` says which): the profile a campaign would configure for such a seller, then its
calls in order (ping, post or direct post) with the answer each gets, in the seller's own
format and names, and the lead as stored under the vertical's names. One parametrized test
plays every file against a running pingtree selling to a fixed-price buyer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from pingtree.api.body import MAX_BODY_BYTES
from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.api.test_live_bids import live_order
from tests.support.buyers import running_buyers

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


# --- issue 17's done-when: two sellers in their own formats, one campaign, a live buyer ----


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"rich": {"bid": {"kind": "fixed", "amount": "30.00"}}}) as running:
        yield running


def profile_of(name: str) -> dict[str, Any]:
    profile: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())["profile"]
    return profile


def two_sellers(market: Market, mock: MockBuyer) -> None:
    inbound = [profile_of("lead_prosper_flat_json"), profile_of("xml_lead")]
    market.apply(
        marketplace([buyer("rich", live_order(mock, "rich"))], [campaign(inbound=inbound)])
    )


def test_a_flat_json_seller_and_an_xml_seller_are_sold_through_one_campaign(
    market: Market, mock: MockBuyer
) -> None:
    two_sellers(market, mock)
    mock.reset()
    key = market.key()
    # the flat JSON seller pings and posts with its own names and values
    pinged = market.http.post(
        "/api/v1/in/acme_auto/lp/ping",
        json={"lp_key": key, "zip_code": "33101", "state": "Florida", "age": 41,
              "credit_rating": "Excellent", "lp_campaign_id": "9"},
    )  # fmt: skip
    assert pinged.status_code == 200, pinged.text
    ping = pinged.json()
    assert (ping["status"], ping["payout"]) == ("ACCEPTED", "21.00"), ping
    posted = market.http.post(
        "/api/v1/in/acme_auto/lp/post",
        json={"lp_key": key, "lp_ping_id": ping["ping_id"], "first_name": "Ana",
              "phone_home": "3055550142", "email_address": "ana@example.com"},
    )  # fmt: skip
    assert posted.status_code == 200, posted.text
    sold = posted.json()
    assert (sold["status"], sold["payout"]) == ("ACCEPTED", "21.00"), sold
    # the XML seller direct-posts a whole lead
    xml = (
        f"<Lead><ApiKey>{key}</ApiKey><Address><ZipCode>33101</ZipCode><State>FL</State>"
        "</Address><Applicant><Age>52</Age><FirstName>Bea</FirstName>"
        "<Phone>3055550199</Phone><Email>bea@example.com</Email>"
        "<CurrentlyInsured>N</CurrentlyInsured></Applicant></Lead>"
    )
    answered = market.http.post(
        "/api/v1/in/acme_auto/cake_xml/leads",
        content=xml.encode(),
        headers={"content-type": "application/xml"},
    )
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(answered.content)
    assert root.tag == "Response"
    assert (root.findtext("Status"), root.findtext("Payout")) == ("Accepted", "21.00")
    # and reads the lead's outcome in its own format later
    outcome = market.http.get(
        f"/api/v1/in/acme_auto/cake_xml/leads/{root.findtext('LeadID')}", headers=market.seller()
    )
    assert outcome.status_code == 200, outcome.text
    assert etree.fromstring(outcome.content).findtext("Status") == "Accepted"
    unknown = market.http.get("/api/v1/in/acme_auto/cake_xml/leads/nope", headers=market.seller())
    assert unknown.status_code == 404
    assert etree.fromstring(unknown.content).findtext("Status") == "Error"

    # both leads reached the live buyer, each under the vertical's names
    posts = [json.loads(r.body) for r in mock.requests_to("rich", "post")]
    assert sorted(p["first_name"] for p in posts) == ["Ana", "Bea"]
    assert {p["zip"] for p in posts} == {"33101"}
    for lead_id, age, insured in (
        (sold["id"], 41, None),
        (root.findtext("LeadID"), 52, False),
    ):
        lead = market.lead(str(lead_id), reveal=True)
        assert lead["status"] == "sold"
        assert (lead["fields"]["age"], lead["fields"].get("insured")) == (age, insured)
        assert [s["order_id"] for s in lead["sales"]] == ["rich_live"]


def test_the_answers_keep_the_statuses_and_reasons_in_the_sellers_names(
    market: Market, mock: MockBuyer
) -> None:
    two_sellers(market, mock)
    key = market.key()
    ping = market.http.post(
        "/api/v1/in/acme_auto/lp/ping",
        json={"lp_key": key, "zip_code": "33101", "state": "FL", "age": 30},
    ).json()
    mismatch = market.http.post(
        "/api/v1/in/acme_auto/lp/post",
        json={"lp_key": key, "lp_ping_id": ping["ping_id"], "zip_code": "33102",
              "first_name": "Ana", "phone_home": "3055550142", "email_address": "a@example.com"},
    )  # fmt: skip
    assert mismatch.status_code == 200, mismatch.text
    assert mismatch.json() == {
        "status": "REJECTED",
        "id": mismatch.json()["id"],
        "message": ["ping_post_mismatch"],
        "fields": ["zip_code"],
    }


@pytest.mark.parametrize(
    ("url", "status"),
    [
        # no key: refused in the profile's own format
        ("/api/v1/in/acme_auto/cake_xml/leads", 401),
        # no such profile, or no such campaign: there is no format to answer in
        ("/api/v1/in/acme_auto/nope/leads", 404),
        ("/api/v1/in/other/cake_xml/leads", 404),
    ],
)
def test_refusals(market: Market, mock: MockBuyer, url: str, status: int) -> None:
    two_sellers(market, mock)
    response = market.http.post(url, content=b"<Lead><ZipCode>33101</ZipCode></Lead>")
    assert response.status_code == status, response.text
    if status == 401:
        assert etree.fromstring(response.content).findtext("Status") == "Error"


def test_an_xml_body_over_the_size_limit_is_a_413_in_xml(market: Market, mock: MockBuyer) -> None:
    two_sellers(market, mock)
    big = b"<Lead>" + b"<Note>" + b"x" * (MAX_BODY_BYTES + 1) + b"</Note></Lead>"
    response = market.http.post(
        "/api/v1/in/acme_auto/cake_xml/leads",
        content=big,
        headers={**market.seller(), "content-type": "application/xml"},
    )
    assert response.status_code == 413
    root = etree.fromstring(response.content)
    assert root.findtext("Status") == "Error"
    assert "larger than" in (root.findtext("Error") or "")


def test_a_key_of_another_campaign_is_refused(market: Market, mock: MockBuyer) -> None:
    inbound = [profile_of("lead_prosper_flat_json")]
    market.apply(
        marketplace(
            [buyer("rich", live_order(mock, "rich"))],
            [campaign(inbound=inbound), campaign("acme_two")],
        )
    )
    response = market.http.post(
        "/api/v1/in/acme_auto/lp/ping",
        json={"lp_key": market.key("acme_two"), "zip_code": "33101", "state": "FL"},
    )
    assert response.status_code == 403, response.text
    assert response.json()["status"] == "ERROR"


#: (profile, content type, body): malformed, hostile or odd calls, each a 4xx in the
#: seller's own format and never a 500
HOSTILE: list[tuple[str, str, bytes]] = [
    ("lp", "application/json", b"[1, 2]"),
    ("lp", "application/json", b'{"zip_code": {"a": 1}}'),
    ("lp", "application/json", b'{"zip_code": "33101", "zip_code": "33102"}'),
    ("lp", "application/json", b'{"lp_test": "maybe", "lp_ping_id": 7, "zip_code": "33101"}'),
    ("lp", "application/json", b'{"zip_code": 1e400}'),
    ("lp", "application/json", b'{"zip_code": "\\u0000"}'),
    ("lp", "application/json", b"\xff\xfe{"),
    ("lp", "application/json", b'{"fields": {"zip": "33101"}}'),
    ("cake_xml", "application/xml", b""),
    ("cake_xml", "application/xml", b"<Lead>" + b"<a>" * 300 + b"</a>" * 300 + b"</Lead>"),
    ("cake_xml", "application/xml", b'<Lead><ZipCode a="1">33101</ZipCode><ZipCode/></Lead>'),
    ("cake_xml", "application/xml", b"<Lead><ZipCode>\x01</ZipCode></Lead>"),
    ("cake_xml", "application/xml", "<Lead><ZipCode>٣٣١٠١</ZipCode></Lead>".encode("utf-16")),
    (
        "cake_xml",
        "application/xml",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Lead><FirstName>&x;</FirstName></Lead>",
    ),
    ("cake_xml", "application/xml", b"<?pi x?><Lead><!-- c --><Test>maybe</Test></Lead>"),
    ("cake_xml", "text/html", b"<Lead/>"),
]


def test_hostile_calls_are_refused_in_the_sellers_format(market: Market, mock: MockBuyer) -> None:
    two_sellers(market, mock)
    for profile, content_type, body in HOSTILE:
        response = market.http.post(
            f"/api/v1/in/acme_auto/{profile}/leads",
            content=body,
            headers={**market.seller(), "content-type": content_type},
        )
        assert 400 <= response.status_code < 500, (profile, body, response.text)
        if profile == "cake_xml":
            assert etree.fromstring(response.content).findtext("Status") == "Error", body
        else:
            assert response.json()["status"] == "ERROR", body
