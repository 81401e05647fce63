"""Building requests: conversions, encoders, placeholders, auth, templates and their bounds."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.render import OutboundRequest, RenderError, render
from pingtree.delivery.templates import MAX_TEMPLATE_OUTPUT
from pingtree.domain.verticals import LeadValue
from tests.delivery.support import compile_spec, resolve_secret


def _post(**step: Any) -> CompiledStep:
    return compile_spec({"post": {"url": "https://b.example/post", **step}}).post


def _render(
    step: CompiledStep, values: dict[str, LeadValue], token: str | None = None
) -> OutboundRequest:
    return render(step, values, token=token, resolve_secret=resolve_secret)


def _json_body(fields: list[dict[str, Any]], values: dict[str, LeadValue]) -> Any:
    return json.loads(_render(_post(body={"fields": fields}), values).body)


# --- as, format, map ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("string", 34, "34"),
        ("string", True, "true"),
        ("string", Decimal("1.50"), "1.50"),
        ("string", dt.date(2026, 3, 1), "2026-03-01"),
        ("integer", "034", 34),
        ("integer", Decimal("12"), 12),
        ("integer", True, 1),
        ("decimal", "12.5", 12.5),
        ("decimal", 3, 3),
        ("boolean", "yes", True),
        ("boolean", 0, False),
        ("boolean", "N", False),
        ("yn", True, "Y"),
        ("yn", "false", "N"),
        ("yes_no", True, "Yes"),
        ("yes_no", False, "No"),
        ("one_zero", True, 1),
        ("one_zero", "no", 0),
    ],
)
def test_as_kinds_in_json(kind: str, value: LeadValue, expected: object) -> None:
    assert _json_body([{"from": "age", "to": "x", "as": kind}], {"age": value}) == {"x": expected}


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("integer", "12.5"),
        ("integer", Decimal("12.5")),
        ("integer", dt.date(2026, 1, 1)),
        ("decimal", "abc"),
        ("decimal", True),
        ("boolean", "maybe"),
        ("yn", 2),
    ],
)
def test_as_kind_refuses_a_value_without_showing_it(kind: str, value: LeadValue) -> None:
    step = _post(body={"fields": [{"from": "age", "to": "x", "as": kind}]})
    with pytest.raises(RenderError) as caught:
        _render(step, {"age": value})
    assert "x (from age)" in str(caught.value)
    assert str(value) not in str(caught.value)


def test_decimals_are_exact_json_numbers() -> None:
    step = _post(body={"fields": [{"from": "income", "to": "i"}, {"value": 0.1, "to": "v"}]})
    body = _render(step, {"income": Decimal("12345678901234567890.10")}).body
    assert body == b'{"i":12345678901234567890.10,"v":0.1}'


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("digits", "3055550142"),
        ("dashed", "305-555-0142"),
        ("dotted", "305.555.0142"),
        ("e164", "+13055550142"),
        ("parens", "(305) 555-0142"),
    ],
)
def test_phone_formats(fmt: str, expected: str) -> None:
    fields = [{"from": "phone", "to": "p", "format": fmt}]
    assert _json_body(fields, {"phone": "3055550142"}) == {"p": expected}
    assert _json_body(fields, {"phone": "+1 (305) 555-0142"}) == {"p": expected}


def test_phone_format_refuses_a_short_number() -> None:
    step = _post(body={"fields": [{"from": "phone", "to": "p", "format": "dashed"}]})
    with pytest.raises(RenderError, match="10-digit"):
        _render(step, {"phone": "55501"})


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("%m/%d/%Y", "03/01/1990"),
        ("%Y%m%d", "19900301"),
        ("%d.%m.%y", "01.03.90"),
        ("%j %%", "060 %"),
    ],
)
def test_date_formats(fmt: str, expected: str) -> None:
    fields = [{"from": "date_of_birth", "to": "d", "format": fmt}]
    assert _json_body(fields, {"date_of_birth": dt.date(1990, 3, 1)}) == {"d": expected}
    assert _json_body(fields, {"date_of_birth": "1990-03-01"}) == {"d": expected}


def test_date_format_refuses_a_non_date() -> None:
    step = _post(body={"fields": [{"from": "date_of_birth", "to": "d", "format": "%Y"}]})
    with pytest.raises(RenderError, match="not a date"):
        _render(step, {"date_of_birth": "soon"})


def test_value_map_then_as() -> None:
    fields = [
        {"from": "state", "to": "s", "map": {"FL": "Florida"}},
        {"from": "homeowner", "to": "h", "map": {"true": "own", "false": "rent"}},
        {"from": "credit_rating", "to": "c", "map": {"excellent": 1, "good": 2}, "as": "string"},
    ]
    values: dict[str, LeadValue] = {"state": "TX", "homeowner": False, "credit_rating": "good"}
    # an unmapped value passes through unchanged
    assert _json_body(fields, values) == {"s": "TX", "h": "rent", "c": "2"}


def test_absent_fields_are_omitted_or_defaulted() -> None:
    fields = [
        {"from": "zip", "to": "lead.zip"},
        {"from": "city", "to": "lead.city"},
        {"from": "gender", "to": "gender", "default": "U"},
        {"from": "token", "to": "ping_id"},
    ]
    assert _json_body(fields, {"zip": "33101"}) == {"lead": {"zip": "33101"}, "gender": "U"}
    assert _json_body(fields, {"zip": "33101", "gender": "male", "city": ""}) == {
        "lead": {"zip": "33101", "city": ""},
        "gender": "male",
    }


def test_static_secret_in_the_body() -> None:
    fields = [{"value": {"secret": "api_key"}, "to": "key"}]
    assert _json_body(fields, {}) == {"key": "key-456"}


def test_unknown_secret() -> None:
    step = _post(auth={"type": "bearer", "token": {"secret": "nope"}}, body={"fields": []})
    with pytest.raises(RenderError, match="unknown secret 'nope'"):
        _render(step, {})


# --- structure cannot be changed by a value --------------------------------------------------


@given(st.text())
def test_any_value_stays_a_json_string(text: str) -> None:
    step = _post(body={"fields": [{"from": "city", "to": "a.b"}, {"value": "x", "to": "c"}]})
    assert json.loads(_render(step, {"city": text}).body) == {"a": {"b": text}, "c": "x"}


@given(st.text())
def test_any_value_stays_one_form_field(text: str) -> None:
    step = _post(
        content_type="form",
        body={"fields": [{"from": "city", "to": "c"}, {"value": "1", "to": "k"}]},
    )
    assert parse_qsl(_render(step, {"city": text}).body.decode(), keep_blank_values=True) == [
        ("c", text),
        ("k", "1"),
    ]


@given(st.text())
def test_any_value_stays_one_query_parameter_and_path_segment(text: str) -> None:
    step = _post(
        url="https://b.example/p/{city}/x?a=1",
        method="GET",
        content_type="query",
        body={"fields": [{"from": "city", "to": "c"}]},
    )
    parts = urlsplit(_render(step, {"city": text}).url)
    assert parts.netloc == "b.example"
    assert parts.path.count("/") == 3
    assert parse_qsl(parts.query, keep_blank_values=True) == [("a", "1"), ("c", text)]


@given(st.text())
def test_any_value_stays_xml_text(text: str) -> None:
    step = _post(
        content_type="xml",
        body={"fields": [{"from": "city", "to": "a/b"}, {"from": "zip", "to": "@z"}]},
    )
    body = _render(step, {"city": text, "zip": text}).body
    root = etree.fromstring(body)
    assert [el.tag for el in root.iter()] == ["lead", "a", "b"]
    kept = "".join(c for c in text if c in "\t\n\r" or c >= " ")
    kept = "".join(c for c in kept if not ("\ud800" <= c <= "\udfff" or c in "\ufffe\uffff"))
    assert (root.find("a/b").text or "") == kept
    assert set(root.attrib) == {"z"}


@given(st.text())
def test_any_value_stays_text_in_an_xml_template(text: str) -> None:
    step = _post(content_type="xml", body={"template": '<r a="{{ zip }}"><c>{{ city }}</c></r>'})
    root = etree.fromstring(_render(step, {"city": text, "zip": text}).body)
    assert [el.tag for el in root.iter()] == ["r", "c"]
    assert set(root.attrib) == {"a"}


# --- url, headers, auth ----------------------------------------------------------------------


def test_url_placeholders_are_percent_encoded() -> None:
    step = _post(
        url="https://b.example/{sub_id}/{campaign}?s={sub_id}",
        vars={"campaign": "a/b c"},
        body={"fields": []},
    )
    request = _render(step, {"sub_id": "x?y#z&w=1"})
    assert request.url == "https://b.example/x%3Fy%23z%26w%3D1/a%2Fb%20c?s=x%3Fy%23z%26w%3D1"


def test_header_placeholders_and_crlf() -> None:
    step = _post(headers={"X-Ping": "ping {token}", "X-Sub": "{sub_id}"}, body={"fields": []})
    request = _render(step, {"sub_id": "s1"}, token="t-1")
    assert ("X-Ping", "ping t-1") in request.headers
    with pytest.raises(RenderError, match="X-Sub"):
        _render(step, {"sub_id": "a\r\nX-Evil: 1"}, token="t")
    with pytest.raises(RenderError, match=r"\{token\}"):
        _render(step, {"sub_id": "s1"})


def test_configured_content_type_wins() -> None:
    step = _post(headers={"content-type": "application/vnd.buyer+json"}, body={"fields": []})
    assert _render(step, {}).headers == (("content-type", "application/vnd.buyer+json"),)


def test_basic_auth() -> None:
    step = _post(auth={"type": "basic", "username": "user", "password": {"secret": "api_password"}})
    header = dict(_render(step, {}).headers)["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == b"user:s3cret"


def test_basic_auth_username_from_a_secret_cannot_hold_a_colon() -> None:
    step = _post(auth={"type": "basic", "username": {"secret": "crlf"}, "password": "p"})
    with pytest.raises(RenderError):
        _render(step, {})


def test_bearer_header_query_and_none_auth() -> None:
    bearer = _post(auth={"type": "bearer", "token": {"secret": "shield_token"}})
    assert dict(_render(bearer, {}).headers)["Authorization"] == "Bearer tok-123"
    header = _post(auth={"type": "header", "name": "X-Api-Key", "value": {"secret": "api_key"}})
    assert dict(_render(header, {}).headers)["X-Api-Key"] == "key-456"
    query = _post(
        url="https://b.example/p?x=1", auth={"type": "query", "name": "key", "value": "a&b"}
    )
    assert _render(query, {}).url == "https://b.example/p?x=1&key=a%26b"
    none = _post(auth={"type": "none"})
    assert _render(none, {}) == OutboundRequest("POST", "https://b.example/post", (), b"")


def test_auth_secret_with_crlf_is_refused() -> None:
    step = _post(auth={"type": "bearer", "token": {"secret": "crlf"}})
    with pytest.raises(RenderError, match="Authorization"):
        _render(step, {})


# --- templates ---------------------------------------------------------------------------------


def test_template_sees_only_the_names_it_reads() -> None:
    step = _post(content_type="text", body={"template": "{{ zip }}|{{ city }}|{{ token }}"})
    assert _render(step, {"zip": "33101", "email": "a@b.c"}).body == b"33101||"


def test_xml_template_escapes_and_strips_control_characters() -> None:
    step = _post(content_type="xml", body={"template": "<c>{{ city }}</c><j>{{ city|json }}</j>"})
    body = _render(step, {"city": 'a<b>&\x00\x1b"c'}).body
    assert (
        body
        == b"<c>a&lt;b&gt;&amp;&#34;c</c><j>&#34;a&lt;b&gt;&amp;\\u0000\\u001b\\&#34;c&#34;</j>"
    )


def test_text_template_does_not_escape() -> None:
    step = _post(
        content_type="text",
        body={"template": "{{ city }} {{ income|json }} {{ homeowner|yes_no }}"},
    )
    body = _render(step, {"city": "<a & b>", "income": Decimal("1.50"), "homeowner": True}).body
    assert body == b"<a & b> 1.50 Yes"


def test_template_output_is_capped() -> None:
    template = "{% for c in city %}{{ city }}{% endfor %}"
    step = _post(content_type="text", body={"template": template})
    assert len(_render(step, {"city": "x" * 500}).body) == 250_000
    with pytest.raises(RenderError, match="over"):
        _render(step, {"city": "x" * 520})
    assert MAX_TEMPLATE_OUTPUT < 520 * 520


@pytest.mark.parametrize("expr", ["'x' * 100000000", "10 ** 100000000", "[1] * 100000000"])
def test_template_arithmetic_is_bounded(expr: str) -> None:
    step = _post(content_type="text", body={"template": "{{ " + expr + " }}"})
    with pytest.raises(RenderError, match="SecurityError"):
        _render(step, {})


def test_template_runtime_errors_are_render_errors() -> None:
    step = _post(content_type="text", body={"template": "{{ age + 1 }}{{ zip|phone('dashed') }}"})
    assert _render(step, {"age": 1, "zip": "3055550142"}).body == b"2305-555-0142"
    with pytest.raises(RenderError, match="TypeError"):
        _render(step, {"zip": "3055550142"})  # absent age renders as "": "" + 1 fails


def test_form_field_with_json_and_text_documents() -> None:
    body = {"fields": [{"from": "zip", "to": "a.zip"}], "form_field": "data", "document": "json"}
    step = _post(content_type="form", body=body)
    assert parse_qsl(_render(step, {"zip": "33101"}).body.decode()) == [
        ("data", '{"a":{"zip":"33101"}}')
    ]
    body = {"template": "zip={{ zip }}", "form_field": "data", "document": "text"}
    step = _post(content_type="form", body=body)
    assert _render(step, {"zip": "33101"}).body == b"data=zip%3D33101"
