"""Hostile lead values through the real HTTP API (issue 12): digits reach buyers in ASCII,
control characters are refused naming the field, invisible characters do not make a second
person of one (inbound dedup), a form's bad percent-encoding is an error naming its field,
every number fits what stores it, and an address guard that IPv6 spellings do not get past.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers

ARABIC_INDIC_PHONE = "٣٠٥٥٥٥٠١٤٢"  # 3055550142
ARABIC_INDIC_ZIP = "٣٣١٠١"  # 33101
FULLWIDTH_PHONE = "（３０５）５５５－０１４２"
ZWSP, RLO, BOM = "\u200b", "\u202e", "\ufeff"
_TAKES = {"check_token": False, "bid": {"kind": "fixed", "amount": "30.00"}}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"taker": _TAKES, "pinged": _TAKES}) as running:
        yield running


def posting(
    mock: MockBuyer, name: str = "taker", url: str | None = None, price: str = "30.00"
) -> dict[str, Any]:
    """A fixed-price order whose leads are posted to the mock endpoint ``name``."""
    step = {
        "url": url or mock.post_url(name),
        "content_type": "json",
        "timeout_ms": 2000,
        "body": {
            "fields": [
                {"from": name, "to": name}
                for name in ("zip", "state", "age", "first_name", "phone", "email")
            ]
        },
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    return buyer(name, order(f"{name}_fixed", price, delivery={"post": step}))


def with_fields(config: dict[str, Any], *fields: dict[str, Any]) -> dict[str, Any]:
    config["verticals"][0]["fields"].extend(fields)
    return config


def errors(response: Any) -> list[tuple[tuple[Any, ...], str, Any]]:
    assert response.status_code == 422, response.text
    return [(tuple(e["loc"]), e["type"], e["input"]) for e in response.json()["detail"]]


def nothing_stored(market: Market) -> None:
    for what in ("leads", "sales"):
        assert market.http.get(f"/api/v1/admin/{what}", headers=market.admin).json() == []


# --- digits --------------------------------------------------------------------------


@pytest.mark.parametrize("phone", [ARABIC_INDIC_PHONE, FULLWIDTH_PHONE, "+١ ٣٠٥ ٥٥٥ ٠١٤٢"])
def test_the_buyer_gets_zip_and_phone_in_ascii_digits(
    market: Market, mock: MockBuyer, phone: str
) -> None:
    market.apply(marketplace([posting(mock)]))
    mock.reset()
    fields = {**PING, **CONTACT, "zip": ARABIC_INDIC_ZIP, "phone": phone, "age": "٣٤"}
    answer = market.direct_post(fields)
    assert answer["status"] == "sold", answer
    (received,) = mock.requests_to("taker", "post")
    sent = json.loads(received.body)
    assert (sent["zip"], sent["phone"], sent["age"]) == ("33101", "3055550142", 34)
    stored = market.lead(answer["lead_id"], reveal=True)["fields"]
    assert (stored["zip"], stored["phone"]) == ("33101", "3055550142")


def test_a_ping_in_arabic_digits_and_its_post_in_ascii_are_the_same_lead(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(marketplace([posting(mock)]))
    pinged = market.ping({**PING, "zip": ARABIC_INDIC_ZIP})
    assert pinged["status"] == "accepted", pinged
    answer = market.post(pinged["ping_id"], {**PING, **CONTACT, "zip": "33101"})
    assert answer["status"] == "sold", answer


# --- control and invisible characters ------------------------------------------------


@pytest.mark.parametrize("name", ["Ana\x00", "A\x07na", "Ana\x1b[2J", "An\x7fa", "Zoë\x9b"])
def test_a_name_with_control_characters_is_refused_naming_the_field(
    market: Market, name: str
) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))]))
    response = market.http.post(
        "/api/v1/leads",
        json={"fields": {**PING, **CONTACT, "first_name": name}},
        headers=market.seller(),
    )
    # the name is PII: the error does not echo it
    assert errors(response) == [(("body", "fields", "first_name"), "invalid_characters", None)]
    assert "control characters" in response.json()["detail"][0]["msg"]
    nothing_stored(market)


def test_invisible_characters_are_removed_before_the_buyer_sees_them(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(marketplace([posting(mock)]))
    mock.reset()
    fields = {**PING, **CONTACT, "first_name": f"{RLO}A{ZWSP}na{BOM}", "state": f"F{ZWSP}L"}
    assert market.direct_post(fields)["status"] == "sold"
    (received,) = mock.requests_to("taker", "post")
    sent = json.loads(received.body)
    assert (sent["first_name"], sent["state"]) == ("Ana", "FL")


@pytest.mark.parametrize(
    "disguised",
    [
        f"ana{ZWSP}@example.com",
        f"{RLO}ana@example.com",
        f"ana@example.com{BOM}",
        "ａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    ],
)
def test_an_email_disguised_with_invisible_characters_is_still_a_duplicate(
    market: Market, disguised: str
) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))], [campaign(inbound_dedup_days=10)]))
    first = {**PING, **CONTACT, "email": "ana@example.com", "phone": "(305) 555-0142"}
    assert market.direct_post(first)["status"] == "sold"
    market.clock.advance(days=1)
    # another phone number: only the email can tell it is the same person
    again = {**first, "email": disguised, "phone": "(786) 555-0199"}
    answer = market.direct_post(again)
    assert (answer["status"], answer["reasons"]) == ("rejected", ["duplicate"])


def test_a_phone_in_arabic_digits_is_still_a_duplicate(market: Market) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))], [campaign(inbound_dedup_days=10)]))
    assert market.direct_post()["status"] == "sold"
    again = {**PING, **CONTACT, "email": "someone.else@example.com", "phone": ARABIC_INDIC_PHONE}
    answer = market.direct_post(again)
    assert (answer["status"], answer["reasons"]) == ("rejected", ["duplicate"])


def test_a_buyer_s_own_dedup_sees_through_a_disguised_email(market: Market) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00", dedup_days=30))]))
    assert market.direct_post()["status"] == "sold"
    again = {**PING, **CONTACT, "email": f"{RLO}Ana{ZWSP}@Example.com", "phone": "7865550199"}
    answer = market.direct_post(again)
    assert answer["status"] == "rejected", answer


# --- a form's encoding ---------------------------------------------------------------


def _form(fields: dict[str, Any]) -> bytes:
    return "&".join(f"{quote(k)}={quote(str(v))}" for k, v in fields.items()).encode()


def post_form(market: Market, path: str, body: bytes) -> Any:
    return market.http.post(
        path,
        content=body,
        headers={**market.seller(), "content-type": "application/x-www-form-urlencoded"},
    )


@pytest.mark.parametrize("bad", ["An%FFa", "%C3%28", "Ana%E2%82", b"An\xe9a"])
@pytest.mark.parametrize("path", ["/api/v1/leads", "/api/v1/ping"])
def test_invalid_percent_encoded_utf8_in_a_form_names_the_field(
    market: Market, bad: str | bytes, path: str
) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))]))
    name = "credit" if path == "/api/v1/ping" else "first_name"
    fields = PING if path == "/api/v1/ping" else {**PING, **CONTACT}
    body = _form({k: v for k, v in fields.items() if k != name})
    body += b"&" + name.encode() + b"=" + (bad if isinstance(bad, bytes) else bad.encode())
    response = post_form(market, path, body)
    assert errors(response) == [(("body", name), "invalid_encoding", None)]
    assert "UTF-8" in response.json()["detail"][0]["msg"]
    nothing_stored(market)


def test_an_undecodable_field_name_is_an_error_of_the_body(market: Market) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))]))
    response = post_form(market, "/api/v1/ping", _form(PING) + b"&na%FFme=x")
    assert errors(response) == [(("body",), "invalid_encoding", None)]


def test_a_form_in_good_utf8_still_sells(market: Market) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))]))
    body = _form({**PING, **CONTACT, "first_name": "Zoë Ñúñez"})
    response = post_form(market, "/api/v1/leads", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "sold"
    assert market.lead(answer["lead_id"], reveal=True)["fields"]["first_name"] == "Zoë Ñúñez"


def test_a_post_form_with_bad_encoding_names_the_field(market: Market) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))]))
    pinged = market.ping()
    body = _form({"ping_id": pinged["ping_id"], **PING, **CONTACT, "email": "x"})
    body = body.replace(b"email=x", b"email=ana%C0%80%40example.com")
    response = post_form(market, "/api/v1/post", body)
    assert errors(response) == [(("body", "email"), "invalid_encoding", None)]
    # and the malformed post did not use up the ping
    assert market.post(pinged["ping_id"])["status"] == "sold"


# --- numbers and dates fit what stores them -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        (12345678901234567890, "integer_out_of_range"),
        ("12345678901234567890", "integer_out_of_range"),
        ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠", "integer_out_of_range"),
        (-99999999999999999999, "integer_out_of_range"),
    ],
)
def test_integers_past_64_bits_are_refused(market: Market, value: object, error_type: str) -> None:
    market.apply(marketplace([buyer("b", order("b", "20.00"))]))
    response = market.http.post(
        "/api/v1/ping", json={"fields": {**PING, "age": value}}, headers=market.seller()
    )
    assert [(loc, kind) for loc, kind, _ in errors(response)] == [
        (("body", "fields", "age"), error_type)
    ]


_PREMIUM = {"name": "premium", "type": "decimal"}
_DOB = {"name": "date_of_birth", "type": "date", "pii": True}


@pytest.mark.parametrize(
    "raw_value",
    [
        b'"' + b"9" * 31 + b'"',
        b'"0.' + b"1" * 31 + b'"',
        b"1e300",
        b"123456789012345678901234567890.5",  # a JSON number past what a float keeps
        b"0.30000000000000004",
        b'"1e5"',
    ],
)
def test_huge_or_inexact_decimals_are_refused(market: Market, raw_value: bytes) -> None:
    market.apply(with_fields(marketplace([buyer("b", order("b", "20.00"))]), _PREMIUM))
    body = b'{"fields": {"zip": "33101", "state": "FL", "premium": ' + raw_value + b"}}"
    response = market.http.post(
        "/api/v1/ping",
        content=body,
        headers={**market.seller(), "content-type": "application/json"},
    )
    assert [(loc, kind) for loc, kind, _ in errors(response)] == [
        (("body", "fields", "premium"), "invalid_decimal")
    ]


def test_a_decimal_sent_as_text_keeps_every_digit(market: Market, mock: MockBuyer) -> None:
    market.apply(with_fields(marketplace([posting(mock)]), _PREMIUM))
    exact = "123456789012345678901234567890.123456789"
    answer = market.direct_post({**PING, **CONTACT, "premium": exact})
    assert answer["status"] == "sold", answer
    assert market.lead(answer["lead_id"])["fields"]["premium"] == exact


@pytest.mark.parametrize("date", ["0019-05-04", "9999-12-31", "1899-12-31", "01/01/2200"])
def test_dates_out_of_a_sane_range_are_refused(market: Market, date: str) -> None:
    market.apply(with_fields(marketplace([buyer("b", order("b", "20.00"))]), _DOB))
    response = market.http.post(
        "/api/v1/leads",
        json={"fields": {**PING, **CONTACT, "date_of_birth": date}},
        headers=market.seller(),
    )
    assert errors(response) == [(("body", "fields", "date_of_birth"), "date_out_of_range", None)]


# --- the address guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:7f00:1]",  # the same, in hex
        "[::127.0.0.1]",  # IPv4-compatible
        "[64:ff9b::127.0.0.1]",  # NAT64
        "[64:ff9b:1::7f00:1]",  # NAT64, local use
        "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
    ],
)
def test_a_buyer_url_spelling_loopback_in_ipv6_is_never_called(
    market: Market, mock: MockBuyer, host: str
) -> None:
    """Only 127.0.0.1 is allowed (the test settings): the same host in an IPv6 spelling is
    refused before anything is sent, while the plain spelling is still called."""
    market.apply(
        marketplace(
            [
                posting(mock, "taker", url=mock.post_url("taker").replace("127.0.0.1", host)),
                posting(mock, "pinged", price="20.00"),
            ]
        )
    )
    mock.reset()
    answer = market.direct_post()
    assert answer["status"] == "sold", answer
    assert mock.requests_to("taker") == []
    assert len(mock.requests_to("pinged", "post")) == 1
    lead = market.lead(answer["lead_id"])
    sales = {sale["order_id"]: sale["status"] for sale in lead["sales"]}
    # the dearer order was tried first, then the lead fell to the next
    assert sales == {"taker_fixed": "rejected", "pinged_fixed": "sold"}
    refused = _attempts_of(market, answer["lead_id"], "taker_fixed")
    assert refused
    # refused before connecting: a connect failure, nothing sent, and not tried again (the
    # lead went to the next order)
    assert {(a["outcome"], a["error"]) for a in refused} == {("failed", "connect (not retried)")}


def _attempts_of(market: Market, lead_id: str, order_id: str) -> list[dict[str, Any]]:
    """The order's post attempts at the lead, once the batching writer has stored one."""
    give_up = time.monotonic() + 10
    while True:
        found = [a for a in market.lead(lead_id)["attempts"] if a["order_id"] == order_id]
        if found or time.monotonic() > give_up:
            return found
        time.sleep(0.05)


# --- ids in the envelope -----------------------------------------------------------------


@pytest.mark.parametrize("ping_id", ["a\x00b", "\x1b[2J", "01a2\x7f"])
def test_a_ping_id_with_control_characters_is_refused_not_a_500(
    market: Market, ping_id: str
) -> None:
    # PostgreSQL refuses NUL in a query parameter: this was a 500 there
    market.apply(marketplace([buyer("b", order("b", "20.00"))]))
    response = market.http.post(
        "/api/v1/post",
        json={"ping_id": ping_id, "fields": {**PING, **CONTACT}},
        headers=market.seller(),
    )
    assert errors(response) == [(("body", "ping_id"), "invalid_characters", None)]
    form = _form({**PING, **CONTACT}) + b"&ping_id=" + quote(ping_id).encode()
    assert errors(post_form(market, "/api/v1/post", form)) == [
        (("body", "ping_id"), "invalid_characters", None)
    ]
