"""The delivery log's PII masking: requests rendered again with placeholders (by
structure), and what comes back masked in every shape a value takes on the wire."""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit

import markupsafe
import orjson
import pytest
from lxml import etree

from pingtree.delivery.attempts import exchange_attempt, mask_pii
from pingtree.delivery.client import RawResponse
from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.render import OutboundRequest, render, render_masked, sent_in_place
from pingtree.domain.verticals import LeadValue
from tests.delivery.support import PII, compile_spec, resolve_secret

NAME = 'O\'Brien "Ana" & <Co> \\ Zoë 🦊 Quillfeather'
ADDRESS = '12 "Oak" Ave <Apt 3> & Co\\Zoë 🦊 Yarrowmere\'s Lane, ✓ #4'
EMAIL = "zoe.o'brien+a&b=c/d{x}~qwyzzle@example.com"
LEAD: dict[str, LeadValue] = {
    "zip": "33101",
    "first_name": NAME,
    "address": ADDRESS,
    "email": EMAIL,
    "phone": "3055550199",
}
PII_TEXT = {name: str(value) for name, value in LEAD.items() if name in PII}
MARKERS = ("quill", "yarro", "qwyzz", "5550199")


def _clear(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text.lower()]


# --- mask_pii: every shape of a value -----------------------------------------------------


def _xml_text(value: str) -> str:
    element = etree.Element("v")
    element.text = value
    return str(etree.tostring(element, encoding="unicode"))


def _xml_attribute(value: str) -> str:
    element = etree.Element("v", a=value)
    return str(etree.tostring(element, encoding="unicode"))


def _char_refs(escaped: str, hexadecimal: bool) -> str:
    return "".join(
        c if ord(c) < 128 else (f"&#x{ord(c):X};" if hexadecimal else f"&#{ord(c)};")
        for c in escaped
    )


SHAPES: dict[str, Any] = {
    "raw": lambda v: v,
    "upper case": str.upper,
    "quote": lambda v: quote(v, safe=""),
    "quote keeping /": quote,
    "quote_plus": quote_plus,
    "urlencode": lambda v: urlencode({"v": v})[2:],
    "JSON, ASCII only": lambda v: json.dumps(v)[1:-1],
    "JSON, UTF-8": lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
    "orjson": lambda v: orjson.dumps(v).decode()[1:-1],
    "JSON with escaped slashes": lambda v: json.dumps(v).replace("/", "\\/")[1:-1],
    "JSON upper-case hex": lambda v: json.dumps(v)[1:-1].replace(
        "\\ud83e\\udd8a", "\\uD83E\\uDD8A"
    ),
    "lxml text": _xml_text,
    "lxml attribute": _xml_attribute,
    "html.escape": html.escape,
    "markupsafe (Jinja autoescape)": lambda v: str(markupsafe.escape(v)),
    "&apos;": lambda v: html.escape(v).replace("&#x27;", "&apos;"),
    "decimal references": lambda v: _char_refs(html.escape(v), hexadecimal=False),
    "hex references": lambda v: _char_refs(html.escape(v), hexadecimal=True),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("value", [NAME, ADDRESS, EMAIL])
def test_a_value_is_masked_in_every_shape(shape: str, value: str) -> None:
    written = SHAPES[shape](value)
    text = f'{{"status":"ok","said":"{written}","zip":"33101"}}'
    masked = mask_pii(text, PII_TEXT)
    assert _clear(masked) == [], (written, masked)
    assert "{{" in masked
    assert masked.startswith('{"status":"ok","said":"')
    assert masked.endswith('","zip":"33101"}')


@pytest.mark.parametrize(
    "written", ["3055550199", "(305) 555-0199", "305.555.0199", "+1 305 555 0199", "1-305-555-0199"]
)
def test_a_phone_number_is_masked_in_any_punctuation(written: str) -> None:
    masked = mask_pii(f"call {written} today", PII_TEXT)
    assert "{{phone}}" in masked
    assert not any(c.isdigit() for c in masked), masked


def test_text_without_the_values_is_left_as_it_is() -> None:
    text = '{"status":"failure","reason":"outside our area & <hours>","id":"O-42"}'
    assert mask_pii(text, PII_TEXT) == text
    assert mask_pii("", PII_TEXT) == ""
    assert mask_pii(text, {}) == text


def test_the_head_of_a_value_at_the_end_of_a_cut_reason_is_masked() -> None:
    reason = "Duplicate: " + EMAIL[:12]
    assert mask_pii(reason, PII_TEXT) == reason  # not a value, unless it may have been cut
    assert mask_pii(reason, PII_TEXT, cut=True) == "Duplicate: {{email}}"
    assert mask_pii("Duplicate: " + json.dumps(NAME)[1:20], PII_TEXT, cut=True) == (
        "Duplicate: {{first_name}}"
    )


# --- render_masked: the request as the log keeps it --------------------------------------

_FIELDS = [
    {"from": "zip", "to": "zip"},
    {"from": "first_name", "to": "first_name"},
    {"from": "address", "to": "address"},
    {"from": "email", "to": "email"},
    {"from": "phone", "to": "phone", "format": "dashed"},
    {"from": "phone", "to": "phone_number", "as": "integer"},
]


def _step(**step: Any) -> CompiledStep:
    spec = {"url": "https://b.example/post", **step}
    return compile_spec({"post": spec}).post


def _both(step: CompiledStep) -> tuple[OutboundRequest, OutboundRequest]:
    sent = render(step, LEAD, token="t-1", resolve_secret=resolve_secret)
    shown = render_masked(step, LEAD, PII, token="t-1", resolve_secret=resolve_secret)
    return sent, shown


def test_a_json_body_is_logged_with_placeholders_where_the_values_went() -> None:
    sent, shown = _both(_step(content_type="json", body={"fields": _FIELDS}))
    assert json.loads(sent.body)["first_name"] == NAME
    assert json.loads(shown.body) == {
        "zip": "33101",
        "first_name": "{{first_name}}",
        "address": "{{address}}",
        "email": "{{email}}",
        "phone": "{{phone}}",
        "phone_number": "{{phone}}",
    }
    assert shown.headers == sent.headers


def test_an_xml_body_is_logged_with_placeholders() -> None:
    sent, shown = _both(_step(content_type="xml", body={"fields": _FIELDS, "root": "lead"}))
    assert etree.fromstring(sent.body).findtext("first_name") == NAME
    root = etree.fromstring(shown.body)
    assert root.findtext("first_name") == "{{first_name}}"
    assert root.findtext("zip") == "33101"
    assert _clear(shown.body.decode()) == []


@pytest.mark.parametrize("content_type", ["form", "query"])
def test_form_and_query_pairs_are_logged_with_readable_placeholders(content_type: str) -> None:
    step = _step(content_type=content_type, body={"fields": _FIELDS})
    sent, shown = _both(step)
    where = shown.body.decode() if content_type == "form" else urlsplit(shown.url).query
    assert "first_name={{first_name}}" in where
    assert "email={{email}}" in where
    assert "zip=33101" in where
    sent_text = sent.body.decode() if content_type == "form" else urlsplit(sent.url).query
    assert dict(parse_qsl(sent_text))["first_name"] == NAME
    assert _clear(shown.url + shown.body.decode()) == []


def test_an_xml_document_in_a_form_field_is_logged_with_placeholders() -> None:
    sent, shown = _both(_step(content_type="form", body={"form_field": "xml", "fields": _FIELDS}))
    assert "%7B%7B" not in shown.body.decode()
    document = dict(parse_qsl(shown.body.decode()))["xml"]
    assert etree.fromstring(document.encode()).findtext("first_name") == "{{first_name}}"
    sent_document = dict(parse_qsl(sent.body.decode()))["xml"]
    assert etree.fromstring(sent_document.encode()).findtext("first_name") == NAME


def test_a_text_template_url_and_headers_are_logged_with_placeholders() -> None:
    step = _step(
        url="https://b.example/post/{zip}?who={first_name}&t={token}",
        headers={"X-Contact": "{email}"},
        content_type="text",
        body={"template": "Name: {{ first_name|upper }}\nAt: {{ address }}\nZip: {{ zip }}"},
    )
    sent, shown = _both(step)
    assert NAME.upper() in sent.body.decode()
    assert shown.body.decode() == "Name: {{FIRST_NAME}}\nAt: {{address}}\nZip: 33101"
    assert shown.url == "https://b.example/post/33101?who={{first_name}}&t=t-1"
    assert ("X-Contact", "{{email}}") in shown.headers
    assert ("X-Contact", EMAIL) in sent.headers


def test_an_absent_pii_field_stays_absent() -> None:
    step = _step(content_type="json", body={"fields": _FIELDS})
    shown = render_masked(step, {"zip": "33101"}, PII, token=None, resolve_secret=resolve_secret)
    assert json.loads(shown.body) == {"zip": "33101"}


def test_a_template_filter_that_needs_a_real_value_gets_a_stand_in_masked_after() -> None:
    step = _step(
        content_type="text",
        body={
            "template": "Phone: {{ phone|phone('parens') }}\n"
            "Born: {{ date_of_birth|date('%m/%d/%Y') }} ({{ date_of_birth.year }})"
        },
    )
    lead = {**LEAD, "date_of_birth": dt.date(1937, 11, 29)}
    sent = render(step, lead, resolve_secret=resolve_secret)
    assert sent.body.decode() == "Phone: (305) 555-0199\nBorn: 11/29/1937 (1937)"
    shown = render_masked(step, lead, PII, resolve_secret=resolve_secret)
    # the stand-in's year is the stand-in's: 1900, not the lead's
    assert shown.body.decode() == "Phone: ({{phone}}\nBorn: {{date_of_birth}} (1900)"


def test_what_a_template_made_of_each_value_is_found_in_the_request_sent() -> None:
    step = _step(
        content_type="text",
        body={
            "template": "To {{ first_name|truncate(12) }}, {{ address|replace('Ave', 'Avenue') }}"
            "{{ email }}."
        },
    )
    sent = render(step, LEAD, resolve_secret=resolve_secret).body.decode()
    shown = render_masked(step, LEAD, PII, resolve_secret=resolve_secret).body.decode()
    assert shown == "To {{first_name}}, {{address}}{{email}}."
    made = sent_in_place(shown, sent, PII)
    assert [name for name, _ in made] == ["first_name", "address"]
    assert sent == f"To {made[0][1]}, {made[1][1]}."
    assert made[0][1] != NAME
    assert NAME.startswith(made[0][1].removesuffix("..."))
    assert "Avenue" in made[1][1]
    assert made[1][1].endswith(EMAIL)  # side by side: one text for both, the first's name
    assert sent_in_place("Hello {{first_name}}!", "Goodbye Ana!", PII) == []
    assert sent_in_place("no placeholders", "no placeholders", PII) == []


# --- the attempt: shown request, or the sent one searched --------------------------------


def _attempt(request: OutboundRequest, shown: OutboundRequest | None, body: bytes) -> Any:
    raw = RawResponse(status=200, headers={"X-Echo": EMAIL}, body=body, elapsed_ms=3)
    return exchange_attempt(
        "post",
        "o1",
        "b1",
        started=0.0,
        outcome="rejected",
        error=f"duplicate {NAME}",
        request=request,
        raw=raw,
        parsed={"accepted": False, "reason": f"duplicate {NAME}"},
        secrets=["tok-123"],
        pii=PII_TEXT,
        shown=shown,
    )


def test_an_attempt_logs_the_masked_rendering_and_masks_what_came_back() -> None:
    step = _step(
        content_type="json",
        headers={"X-Contact": "{email}", "X-Key": {"secret": "shield_token"}},
        body={"fields": _FIELDS},
    )
    sent, shown = _both(step)
    echo = orjson.dumps({"status": "failure", "lead": {"name": NAME, "email": EMAIL}})
    attempt = _attempt(sent, shown, echo)
    assert json.loads(attempt.request_body)["first_name"] == "{{first_name}}"
    assert attempt.request_headers["X-Contact"] == "{{email}}"
    assert attempt.request_headers["X-Key"] == "•••"
    assert json.loads(attempt.response_body)["lead"] == {
        "name": "{{first_name}}",
        "email": "{{email}}",
    }
    assert attempt.response_headers["X-Echo"] == "{{email}}"
    assert attempt.parsed["reason"] == "duplicate {{first_name}}"
    assert attempt.error == "duplicate {{first_name}}"


def test_without_a_masked_rendering_the_sent_request_is_searched_in_every_shape() -> None:
    step = _step(
        content_type="xml",
        headers={"X-Contact": "{email}"},
        body={"fields": _FIELDS, "root": "lead"},
    )
    sent = render(step, LEAD, resolve_secret=resolve_secret)
    attempt = _attempt(sent, None, b"")
    text = attempt.url + json.dumps(attempt.request_headers) + attempt.request_body
    assert _clear(text) == []
    assert etree.fromstring(attempt.request_body.encode()).findtext("first_name") == (
        "{{first_name}}"
    )
    assert attempt.request_headers["X-Contact"] == "{{email}}"
