"""The canary: personal data full of quotes, ampersands, angle brackets, backslashes,
non-ASCII and emoji is sold through every body kind to real mock buyers that echo it back,
then looked for everywhere an analyst (who never sees personal data, DESIGN §8.5) could
find it: every table of the database, every log line the server wrote, every admin API
answer read without ``reveal``, every UI page the analyst role opens. It must appear in
none of them, in none of its encodings (raw, URL-, JSON-, XML- or HTML-escaped).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape, quoteattr

import httpx
import markupsafe
import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import inspect, select

from pingtree.mockbuyer import EndpointConfig, MockBuyer
from pingtree.mockbuyer.endpoint import received_values
from pingtree.store.db import create_engine
from pingtree.store.tables import Base
from tests.api.market import AUTO_VERTICAL, PING, Market, buyer, campaign, order
from tests.support.buyers import running_buyers
from tests.web.session import sign_in

#: each value holds a marker word found nowhere else: any piece of the value that gets
#: out in any shape still carries its marker, or the marker's head when it was cut there
MARKERS = ("quill", "yarro", "qwyzz", "5550199")
CANARY: dict[str, str] = {
    "first_name": 'O\'Brien "Ana" & <Co> \\ Zoë 🦊 Quillfeather',
    "last_name": "Nuñez-Ōtsuka </last_name><x a='1'>&amp; 🦊 \\u0041 Yarrowmere",
    "address": '12 "Oak" Ave <Apt 3> & Co\\Zoë 🦊 Yarrowmere\'s Lane, ✓ #4',
    "email": "zoe.o'brien+a&b=c/d{x}~qwyzzle@example.com",
    "phone": "(305) 555-0199",
    "date_of_birth": "1937-11-29",
}
#: the date of birth as a template or a buyer may write it
DATES = ("11/29/1937", "29/11/1937", "11-29-1937", "19371129", "1937/11/29", "11/29/37")

_ECHO = {"check_token": False, "echo_lead": True}
BUYERS: dict[str, dict[str, Any]] = {
    # each refuses and says why with the lead it read, but the last, which takes it
    "json": {**_ECHO, "post_accept_rate": 0.0, "fields": {"echo": "reason"}},
    "xml": {**_ECHO, "post_accept_rate": 0.0, "format": "xml", "fields": {"echo": "reason"}},
    "form": {**_ECHO, "post_accept_rate": 0.0, "format": "form", "fields": {"echo": "reason"}},
    "query": {**_ECHO, "post_accept_rate": 0.0, "format": "text", "text_template": "$status|$echo"},
    "text": {**_ECHO, "post_accept_rate": 0.0, "fields": {"echo": "reason"}},
    "text_filters": {**_ECHO, "post_accept_rate": 0.0, "fields": {"echo": "reason"}},
    "xml_in_form": {**_ECHO, "format": "xml"},
}
_FIELDS = [
    {"from": "zip", "to": "zip"},
    {"from": "first_name", "to": "first_name"},
    {"from": "last_name", "to": "last_name"},
    {"from": "address", "to": "address"},
    {"from": "email", "to": "email"},
    {"from": "phone", "to": "phone"},
    {"from": "phone", "to": "phone_dashed", "format": "dashed"},
    {"from": "date_of_birth", "to": "dob", "format": "%m/%d/%Y"},
]
_TEMPLATE = (
    "Lead for {{ zip }}\n"
    "Name: {{ first_name }} {{ last_name|upper }}\n"
    "Address: {{ address }}\n"
    "Contact: {{ email }} / {{ phone }}\n"
)
# filters that need the real value: the log masks the request sent by search instead
_FILTERED = (
    "{{ first_name|lower }} born {{ date_of_birth|date('%m/%d/%Y') }}\n"
    "{{ address|replace('Ave', 'Avenue') }}\n"
    "{{ email }} {{ phone|phone('parens') }}\n"
)
_JSON_RULES = {
    "accepted": {"json": "$.status", "equals": ["success"]},
    "reason": {"json": "$.reason"},
}
_XML_RULES = {
    "accepted": {"xpath": "/response/status", "equals": ["success"]},
    "reason": {"xpath": "/response/reason"},
    "redirect_url": {"xpath": "/response/redirect_url"},
}
_FORM_RULES = {
    "accepted": {"regex": "status=(\\w+)", "equals": ["success"]},
    "reason": {"regex": "reason=([^&]*)"},
}
_TEXT_RULES = {
    "accepted": {"regex": "^(\\w+)", "equals": ["success"]},
    "reason": {"regex": "[|](.*)$"},
}
STEPS: dict[str, dict[str, Any]] = {
    "json": {
        "content_type": "json",
        "headers": {"X-Contact": "{email}", "X-Name": "{first_name}"},
        "url_query": "?who={first_name}&mail={email}",
        "body": {"fields": _FIELDS},
        "response": _JSON_RULES,
    },
    "xml": {"content_type": "xml", "body": {"fields": _FIELDS}, "response": _XML_RULES},
    "form": {"content_type": "form", "body": {"fields": _FIELDS}, "response": _FORM_RULES},
    "query": {
        "content_type": "query",
        "method": "GET",
        "body": {"fields": _FIELDS},
        "response": _TEXT_RULES,
    },
    "text": {"content_type": "text", "body": {"template": _TEMPLATE}, "response": _JSON_RULES},
    "text_filters": {
        "content_type": "text",
        "body": {"template": _FILTERED},
        "response": _JSON_RULES,
    },
    "xml_in_form": {
        "content_type": "form",
        "body": {"form_field": "xml_lead", "fields": _FIELDS},
        "response": _XML_RULES,
    },
}


def encodings(value: str) -> set[str]:
    """Every shape ``value`` may take on its way out: as is, URL-encoded, JSON-, XML- and
    HTML-escaped, and non-ASCII as character references or ``\\u`` escapes."""
    json_ascii = json.dumps(value)[1:-1]
    xml_forms = {
        escape(value),
        escape(value, {'"': "&quot;", "'": "&apos;"}),
        escape(value, {'"': "&quot;", "'": "&#39;"}),
        quoteattr(value)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
        str(markupsafe.escape(value)),
    }
    refs = {form.encode("ascii", "xmlcharrefreplace").decode() for form in xml_forms}
    hex_refs = {"".join(c if ord(c) < 128 else f"&#x{ord(c):x};" for c in f) for f in xml_forms}
    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json_ascii,
        json.dumps(value, ensure_ascii=False)[1:-1],
        orjson.dumps(value).decode()[1:-1],
        *xml_forms,
        *refs,
        *hex_refs,
    }
    # JSON's escapes of an XML- or URL-escaped value (an XML body echoed in JSON)
    forms |= {json.dumps(form)[1:-1] for form in {*xml_forms, quote_plus(value)}}
    return forms


def leaks(text: str, where: str) -> list[str]:
    """What of the canary ``text`` shows: each marker, each value in each encoding."""
    found = []
    lowered = text.lower()
    for marker in MARKERS:
        if marker in lowered:
            at = lowered.index(marker)
            found.append(f"{where}: marker {marker!r} in …{text[max(0, at - 80) : at + 40]!r}…")
    for name, value in CANARY.items():
        for form in encodings(value):
            if form in text:
                found.append(f"{where}: {name} as {form!r}")
    found += [f"{where}: date_of_birth as {date!r}" for date in DATES if date in text]
    return found


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def _step(mock: MockBuyer, name: str) -> dict[str, Any]:
    spec = dict(STEPS[name])
    url = mock.post_url(name) + spec.pop("url_query", "")
    return {"url": url, "timeout_ms": 2000, **spec}


def _marketplace(mock: MockBuyer) -> dict[str, Any]:
    vertical = json.loads(json.dumps(AUTO_VERTICAL))
    vertical["fields"] += [
        {"name": "last_name", "type": "string", "pii": True},
        {"name": "address", "type": "string", "pii": True},
        {"name": "date_of_birth", "type": "date", "pii": True},
    ]
    # the waterfall: the highest price first, each refusal falls to the next
    buyers = [
        buyer(
            name, order(f"{name}_fixed", f"{60 - 5 * i}.00", delivery={"post": _step(mock, name)})
        )
        for i, name in enumerate(STEPS)
    ]
    return {
        "verticals": [vertical],
        "suppliers": [{"id": "acme", "name": "Acme Media", "campaigns": [campaign()]}],
        "buyers": buyers,
    }


#: the buyer that takes the lead sends the consumer to a page that knows their email
_REDIRECT_WITH_EMAIL = "https://buyer.invalid/thanks?email=" + quote_plus(CANARY["email"])


@pytest.mark.parametrize(
    "redirect_url", [None, pytest.param(_REDIRECT_WITH_EMAIL, id="redirect-url-with-pii")]
)
def test_the_canary_never_shows_in_clear(
    market: Market, mock: MockBuyer, caplog: pytest.LogCaptureFixture, redirect_url: str | None
) -> None:
    caplog.set_level(logging.DEBUG, logger="pingtree")
    market.apply(_marketplace(mock))
    taker = {**BUYERS["xml_in_form"], "redirect_url": redirect_url or "https://buyer.invalid/ok"}
    mock.configure("xml_in_form", EndpointConfig.model_validate(taker))
    mock.reset()
    pinged = market.ping()
    assert pinged["status"] == "accepted", pinged
    answer = market.post(pinged["ping_id"], {**PING, **CANARY})
    assert answer["status"] == "sold", answer
    lead_id = answer["lead_id"]
    # the seller sends the consumer to the buyer's page: it gets the URL whole, and so does
    # a repeat of the post (the URL is sealed at rest, opened for the seller it answers)
    assert answer.get("redirect_url") == (redirect_url or "https://buyer.invalid/ok")
    assert market.post(pinged["ping_id"], {**PING, **CANARY}) == answer

    # every buyer got the lead in its body kind, and said it back
    for name in STEPS:
        (received,) = mock.requests_to(name, "post")
        ctype = received.headers.get("Content-Type", "").split(";")[0]
        read = " ".join(received_values(ctype, received.query_string, received.body)).lower()
        assert "quillfeather" in read, (name, read)
        assert "qwyzzle" in read, (name, read)
    lead = market.lead(lead_id)
    assert {s["order_id"]: s["status"] for s in lead["sales"]} == {
        **{f"{name}_fixed": "rejected" for name in STEPS if name != "xml_in_form"},
        "xml_in_form_fixed": "sold",
    }
    _wait_for_the_post_attempts(market, len(STEPS))

    found: list[str] = []
    found += _database_leaks(market)
    found += _redis_leaks(market)
    found += _api_leaks(market, lead_id, pinged["ping_id"])
    found += _page_leaks(market, lead_id, pinged["ping_id"])
    for record in caplog.records:
        found += leaks(record.getMessage(), f"log {record.name}")
    found += leaks(caplog.text, "log text")
    assert not found, "\n".join(found)


def _wait_for_the_post_attempts(market: Market, count: int) -> None:
    """The delivery log is written in batches: wait until it holds the posts."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = market.http.get(
            "/api/v1/admin/attempts", headers=market.admin, params={"kind": "post"}
        )
        assert got.status_code == 200, got.text
        if len(got.json()) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} post attempts in the delivery log")


def _database_leaks(market: Market) -> list[str]:
    """Every text of every row of every table, JSON values leaf by leaf."""

    async def read() -> list[str]:
        engine = create_engine(market.settings.resolved_database_url())
        found: list[str] = []
        try:
            async with engine.connect() as connection:
                present = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
                # a table the migrations have not made yet holds nothing
                for table in [t for t in Base.metadata.sorted_tables if t.name in present]:
                    rows = (await connection.execute(select(table))).all()
                    for row in rows:
                        for column, value in zip(table.columns, row, strict=True):
                            where = f"{table.name}.{column.name}"
                            for text in _texts(value):
                                found += leaks(text, where)
        finally:
            await engine.dispose()
        return found

    return asyncio.run(read())


def _redis_leaks(market: Market) -> list[str]:
    """Every key and value in Redis (PostgreSQL + Redis deployments): caps, holds, rates."""
    if market.settings.redis_url is None:
        return []

    async def read() -> list[str]:
        client: Redis = Redis.from_url(market.settings.redis_url or "")
        found: list[str] = []
        try:
            async for key in client.scan_iter(count=500):
                found += [leak for text in _texts(key) for leak in leaks(text, "redis key")]
                for text in _texts(await _redis_value(client, key)):
                    found += leaks(text, f"redis {key!r}")
        finally:
            await client.aclose()
        return found

    return asyncio.run(read())


async def _redis_value(client: Redis, key: bytes) -> object:
    kind = await client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "string":
        return await client.get(key)
    if kind == "hash":
        return await client.hgetall(key)
    if kind == "list":
        return await client.lrange(key, 0, -1)
    if kind == "set":
        return await client.smembers(key)
    if kind == "zset":
        return await client.zrange(key, 0, -1)
    return await client.dump(key)


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value).decode("utf-8", "replace")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _texts(item)
    elif value is not None:
        yield str(value)


def _api_leaks(market: Market, lead_id: str, ping_id: str) -> list[str]:
    """Every admin API answer about the lead and its traffic, PII not revealed."""
    paths = [
        "/api/v1/admin/leads",
        f"/api/v1/admin/leads/{lead_id}",
        f"/api/v1/admin/leads/{lead_id}/deliveries",
        "/api/v1/admin/pings",
        f"/api/v1/admin/pings/{ping_id}",
        "/api/v1/admin/attempts",
        "/api/v1/admin/attempts?kind=post",
        "/api/v1/admin/set-aside",
        "/api/v1/admin/sales",
        "/api/v1/admin/audit/pii-reveals",
        "/api/v1/admin/reports/summary",
        "/api/v1/admin/reports/buyers",
        "/api/v1/admin/reports/breakdown?by=buyer",
        "/api/v1/admin/reports/breakdown?by=order&format=csv",
        "/api/v1/admin/reports/timeseries",
        "/api/v1/admin/config",
    ]
    found = []
    for path in paths:
        got = market.http.get(path, headers=market.admin)
        assert got.status_code == 200, (path, got.status_code, got.text[:300])
        found += leaks(got.text, f"GET {path}")
        found += _json_leaks(got, f"GET {path}")
    # and every other admin list the API documents, as it answers without parameters
    schema = market.http.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        if "get" not in operations or "{" in path or path in paths:
            continue
        got = market.http.get(path, headers=market.admin)
        assert got.status_code < 500, (path, got.status_code, got.text[:300])
        found += leaks(got.text, f"GET {path}")
    return found


def _json_leaks(got: httpx.Response, where: str) -> list[str]:
    if "json" not in got.headers.get("content-type", ""):
        return []
    return [leak for text in _texts(got.json()) for leak in leaks(text, where)]


def _page_leaks(market: Market, lead_id: str, ping_id: str) -> list[str]:
    """Every page the analyst opens, signed in as one."""
    assert sign_in(market.http, "ana").status_code == 303
    pages = [
        "/ui",
        "/ui/leads",
        f"/ui/leads/{lead_id}",
        "/ui/pings",
        f"/ui/pings/{ping_id}",
        "/ui/attempts",
        "/ui/attempts?kind=post",
        "/ui/reports",
        "/ui/reports.csv",
        "/ui/buyers",
        "/ui/campaigns",
        "/ui/verticals",
    ]
    found = []
    for path in pages:
        got = market.http.get(path)
        assert got.status_code == 200, (path, got.status_code, got.text[:300])
        found += leaks(got.text, f"page {path}")
    # pages for admins only: refused to the analyst, and what the refusal says is read too
    for path in ("/ui/sign-ins", "/ui/erasures"):
        got = market.http.get(path)
        assert got.status_code < 500, (path, got.status_code, got.text[:300])
        found += leaks(got.text, f"page {path}")
    # the lead's page shows its delivery log: the bodies are there, masked
    assert "{{first_name}}" in market.http.get(f"/ui/leads/{lead_id}").text
    return found
