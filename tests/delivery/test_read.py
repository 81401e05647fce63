"""Reading answers: the verdict order, each rule kind and test, and buyer garbage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonpath
import orjson
import pytest

from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.errors import AnswerErrorCode, UnsafeXML
from pingtree.delivery.read import (
    MAX_ANSWER_BYTES,
    MAX_REASON_CHARS,
    AnswerError,
    BuyerAnswer,
    read_answer,
)
from pingtree.delivery.rules import RULE_KINDS, AnswerBody
from pingtree.delivery.xml import MAX_XML_BYTES, build_xml, parse_buyer_xml
from tests.delivery.support import compile_spec


def _step(response: dict[str, Any], *, ping: bool = False) -> CompiledStep:
    step = {"url": "https://b.example/x", "body": {"fields": [{"from": "zip", "to": "z"}]}}
    if ping:
        response = {"bid": {"json": "$.price"}, **response}
        ping_step = compile_spec({"ping": {**step, "response": response}, "post": step}).ping
        assert ping_step is not None
        return ping_step
    return compile_spec({"post": {**step, "response": response}}).post


def _read(step: CompiledStep, body: str | bytes, status: int = 200, **headers: str) -> BuyerAnswer:
    data = body.encode() if isinstance(body, str) else body
    return read_answer(step, status, headers, data)


# --- the verdict ---------------------------------------------------------------------------


def test_rejected_wins_over_accepted() -> None:
    step = _step(
        {
            "accepted": {"json": "$.status", "equals": ["ok"]},
            "rejected": {"json": "$.dup", "equals": [True]},
        }
    )
    assert _read(step, '{"status":"ok","dup":true}') == BuyerAnswer(accepted=False)
    assert _read(step, '{"status":"ok","dup":false}') == BuyerAnswer(accepted=True)


def test_accepted_rules_decide_over_the_status() -> None:
    step = _step({"accepted": {"json": "$.status", "equals": ["ok"]}})
    assert _read(step, '{"status":"ok"}', 404).accepted
    assert not _read(step, '{"status":"nope"}', 200).accepted


def test_any_accepted_rule_may_hold() -> None:
    step = _step({"accepted": [{"status": [201]}, {"header": "X-Result", "equals": ["accepted"]}]})
    assert _read(step, "", 201).accepted
    assert _read(step, "", 200, **{"x-result": " Accepted "}).accepted
    assert not _read(step, "", 200).accepted


def test_without_rules_2xx_is_accepted() -> None:
    step = _step({})
    assert [_read(step, "", s).accepted for s in (200, 201, 202, 204, 301, 400, 404)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert _read(step, "", 302).reason == "HTTP 302"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599, 429])
def test_server_errors_are_errors(status: int) -> None:
    with pytest.raises(AnswerError) as caught:
        _read(_step({}), '{"status":"ok"}', status)
    assert caught.value.code is AnswerErrorCode.STATUS


def test_unreadable_body_is_an_error_on_2xx_and_a_rejection_otherwise() -> None:
    step = _step({"accepted": {"json": "$.ok", "equals": [True]}})
    with pytest.raises(AnswerError) as caught:
        _read(step, "<html/>", 200)
    assert caught.value.code is AnswerErrorCode.UNREADABLE
    assert _read(step, "<html/>", 403) == BuyerAnswer(accepted=False, reason="HTTP 403")
    with pytest.raises(AnswerError):
        _read(step, "", 200)


def test_rejected_answers_read_no_bid_or_token() -> None:
    step = _step(
        {"rejected": {"json": "$.ok", "equals": [False]}, "token": {"json": "$.id"}}, ping=True
    )
    assert _read(step, '{"ok":false,"price":"garbage","id":"x"}') == BuyerAnswer(accepted=False)


def test_is_bid() -> None:
    step = _step({"accepted": {"json": "$.ok", "present": True}}, ping=True)
    assert _read(step, '{"ok":1,"price":2}').is_bid
    assert not _read(step, '{"ok":1,"price":0}').is_bid
    assert not _read(step, '{"ok":1}').is_bid
    assert not _read(step, '{"price":2}').is_bid


# --- rule kinds and tests --------------------------------------------------------------------


def test_json_rules_take_the_first_match() -> None:
    step = _step({"reason": {"json": "$.errors[*].msg"}})
    assert _read(step, '{"errors":[{"msg":"a"},{"msg":"b"}]}').reason == "a"
    assert _read(step, '{"errors":[]}').reason is None
    assert _read(step, "[1, 2]").reason is None


_DOCUMENTS: list[Any] = [
    {"status": "success", "price": 12.5, "ids": [7, {"x": None}], "a": {"b": {"c": [1, 2]}}},
    {"status": None, "ids": {"0": "not a list"}, "a": [{"b": 1}]},
    [{"status": "in a list"}],
    "just text",
    7,
    None,
]


@pytest.mark.parametrize(
    "path", ["$.status", "$.price", "$.ids[0]", "$.ids[1].x", "$.ids[5]", "$.a.b.c[1]", "$[0]"]
)
def test_plain_json_paths_read_what_jsonpath_matches(path: str) -> None:
    # plain member/position paths are read by dictionary lookups, never differently
    reader = RULE_KINDS["json"](path)
    for document in _DOCUMENTS:
        match = jsonpath.compile(path).match(document)
        expected = None if match is None else match.obj
        assert reader.read(AnswerBody(200, {}, orjson.dumps(document))) == expected, document


def test_json_with_a_byte_order_mark() -> None:
    step = _step({"accepted": {"json": "$.ok", "equals": [True]}})
    assert _read(step, b'\xef\xbb\xbf{"ok":true}').accepted


def test_json_null_is_absent() -> None:
    step = _step({"accepted": {"json": "$.ok", "present": True}})
    assert not _read(step, '{"ok":null}').accepted
    assert _read(step, '{"ok":false}').accepted  # present, whatever its value


def test_present_false() -> None:
    step = _step({"accepted": {"json": "$.error", "present": False}})
    assert _read(step, '{"id":1}').accepted
    assert not _read(step, '{"error":"x"}').accepted


def test_equals_is_case_insensitive_and_trims() -> None:
    step = _step({"accepted": {"json": "$.s", "equals": ["Success", 1, 2.5, True]}})
    for body in (
        '{"s":" SUCCESS "}',
        '{"s":1}',
        '{"s":1.0}',
        '{"s":"1"}',
        '{"s":2.5}',
        '{"s":true}',
    ):
        assert _read(step, body).accepted, body
    for body in ('{"s":"successful"}', '{"s":2}', '{"s":{"a":1}}', '{"s":[1]}'):
        assert not _read(step, body).accepted, body


def test_matches_uses_re2_search() -> None:
    step = _step({"accepted": {"json": "$.s", "matches": "^(ok|accept)"}})
    assert _read(step, '{"s":"accepted"}').accepted
    assert not _read(step, '{"s":"not ok"}').accepted


def test_value_rule_with_a_test_yields_only_when_it_holds() -> None:
    step = _step(
        {"accepted": {"status": [200]}, "bid": {"json": "$.p", "matches": "^[0-9.]+$"}}, ping=True
    )
    assert _read(step, '{"p":"12.00"}').bid == Decimal("12.00")
    assert _read(step, '{"p":"call us"}').bid is None


def test_regex_group_or_whole_match() -> None:
    grouped = _step({"accepted": {"status": [200]}, "token": {"regex": "id=(\\w+)"}})
    assert _read(grouped, "ok id=abc9 more").token == "abc9"
    whole = _step({"accepted": {"status": [200]}, "token": {"regex": "[A-Z]{3}-[0-9]+"}})
    assert _read(whole, "lead XYZ-42 ok").token == "XYZ-42"
    assert _read(whole, "nothing").token is None


def test_regex_on_a_huge_line_is_linear() -> None:
    step = _step({"accepted": {"regex": "(a+)+$", "present": True}})
    assert not _read(step, "a" * 100_000 + "!").accepted


def test_header_rule_is_case_insensitive() -> None:
    step = _step({"accepted": {"status": [200]}, "token": {"header": "x-lead-id"}})
    assert _read(step, "", 200, **{"X-Lead-ID": "L1"}).token == "L1"


def test_xpath_results() -> None:
    step = _step(
        {
            "accepted": {"xpath": "count(//bid) > 0", "equals": [True]},
            "bid": {"xpath": "sum(//bid/@amount)"},
            "token": {"xpath": "//id"},
            "reason": {"xpath": "//note"},
        },
        ping=True,
    )
    body = '<r><id>A<b>1</b></id><bid amount="2.5"/><bid amount="1"/><note>fine</note></r>'
    assert _read(step, body) == BuyerAnswer(
        accepted=True, bid=Decimal("3.50"), token="A1", reason="fine"
    )
    assert not _read(step, "<r/>").accepted


def test_xpath_undefined_namespace_prefix_is_unreadable() -> None:
    step = _step({"accepted": {"xpath": "//x:status", "present": True}})
    with pytest.raises(AnswerError) as caught:
        _read(step, "<r/>")
    assert caught.value.code is AnswerErrorCode.UNREADABLE


def test_xpath_with_namespaces_by_local_name() -> None:
    step = _step({"accepted": {"xpath": "//*[local-name()='Status']", "equals": ["ok"]}})
    body = (
        '<s:Envelope xmlns:s="urn:x"><s:Body>'
        '<a:Status xmlns:a="urn:y">OK</a:Status></s:Body></s:Envelope>'
    )
    assert _read(step, body).accepted


# --- garbage -----------------------------------------------------------------------------------


def test_deep_json_recursion_is_unreadable() -> None:
    step = _step({"accepted": {"json": "$..status", "equals": ["ok"]}})
    body = '{"a":' * 900 + "1" + "}" * 900
    with pytest.raises(AnswerError) as caught:
        _read(step, body)
    assert caught.value.code is AnswerErrorCode.UNREADABLE
    too_deep = "[" * 2000 + "]" * 2000
    with pytest.raises(AnswerError):
        _read(step, too_deep)


def test_body_size_cap() -> None:
    step = _step({})
    assert _read(step, b" " * MAX_ANSWER_BYTES).accepted
    with pytest.raises(AnswerError) as caught:
        _read(step, b" " * (MAX_ANSWER_BYTES + 1))
    assert caught.value.code is AnswerErrorCode.TOO_LARGE


def test_reason_is_one_capped_line() -> None:
    step = _step({"reason": {"json": "$.m"}})
    reason = _read(step, '{"m":"a\\n\\tb\\u0000c' + "x" * 500 + '"}').reason
    assert reason is not None
    assert reason.startswith("a b c")
    assert len(reason) == MAX_REASON_CHARS
    assert _read(step, '{"m":{"code":7}}').reason == '{"code":7}'


def test_unreadable_reason_is_no_reason() -> None:
    step = _step({"accepted": {"status": [200]}, "reason": {"xpath": "//m"}})
    assert _read(step, '{"not":"xml"}') == BuyerAnswer(accepted=True)


def test_bad_tokens() -> None:
    step = _step({"accepted": {"status": [200]}, "token": {"json": "$.id"}})
    assert _read(step, '{"id":12345}').token == "12345"
    assert _read(step, '{"id":"  "}').token is None
    for body in ('{"id":{"a":1}}', '{"id":"' + "x" * 1025 + '"}', '{"id":"a\\r\\nb"}'):
        with pytest.raises(AnswerError) as caught:
            _read(step, body)
        assert caught.value.code is AnswerErrorCode.BAD_TOKEN


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://b.example/thanks", True),
        ("HTTP://b.example/x?y=1", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("//b.example/x", False),
        ("https://", False),
        ("https://b.example/a b", False),
        ("https://[bad", False),
    ],
)
def test_redirect_urls(url: str, kept: bool) -> None:
    step = _step({"accepted": {"status": [200]}, "redirect_url": {"json": "$.u"}})
    assert _read(step, '{"u":"' + url + '"}').redirect_url == (url if kept else None)


@pytest.mark.parametrize(
    ("price", "max_bid", "expected"),
    [
        ('"50.00"', None, Decimal("50.00")),
        ("50", None, Decimal("50.00")),
        ("0.1", None, Decimal("0.10")),
        ('"$1,250.00"', None, Decimal("1250.00")),
        ('" 12.345 "', None, Decimal("12.34")),
        ('"0.00"', None, None),
        ("0", None, None),
        ('"100.00"', Decimal("100.00"), Decimal("100.00")),
    ],
)
def test_prices(price: str, max_bid: Decimal | None, expected: Decimal | None) -> None:
    step = _step({"accepted": {"status": [200]}}, ping=True)
    answer = read_answer(step, 200, {}, ('{"price":' + price + "}").encode(), max_bid=max_bid)
    assert answer.bid == expected


@pytest.mark.parametrize(
    "price", ['"NaN"', '"-1"', "-0.5", '"1e3"', "true", '"Infinity"', '"abc"', "[1]"]
)
def test_bad_prices(price: str) -> None:
    step = _step({"accepted": {"status": [200]}}, ping=True)
    with pytest.raises(AnswerError) as caught:
        read_answer(step, 200, {}, ('{"price":' + price + "}").encode(), max_bid=Decimal("100"))
    assert caught.value.code is AnswerErrorCode.BAD_PRICE


@pytest.mark.parametrize("price", ['"100.01"', "150", '"$1,000.00"'])
def test_a_price_above_max_bid_is_its_own_code_not_a_bad_price(price: str) -> None:
    step = _step({"accepted": {"status": [200]}}, ping=True)
    with pytest.raises(AnswerError) as caught:
        read_answer(step, 200, {}, ('{"price":' + price + "}").encode(), max_bid=Decimal("100"))
    assert caught.value.code is AnswerErrorCode.ABOVE_MAX_BID
    assert "above max_bid 100" in caught.value.msg


# --- xml.py ------------------------------------------------------------------------------------


def test_parse_buyer_xml_refuses_doctype_even_without_entities() -> None:
    with pytest.raises(UnsafeXML) as caught:
        parse_buyer_xml(b'<!DOCTYPE r SYSTEM "http://evil.example/x.dtd"><r/>')
    assert caught.value.code is AnswerErrorCode.UNSAFE_XML


def test_parse_buyer_xml_size_and_syntax() -> None:
    with pytest.raises(UnsafeXML) as caught:
        parse_buyer_xml(b"<r>" + b" " * MAX_XML_BYTES + b"</r>")
    assert caught.value.code is AnswerErrorCode.TOO_LARGE
    for bad in (b"", b"<r>", b"not xml"):
        with pytest.raises(AnswerError) as error:
            parse_buyer_xml(bad)
        assert error.value.code is AnswerErrorCode.UNREADABLE


def test_parse_buyer_xml_drops_comments_and_processing_instructions() -> None:
    root = parse_buyer_xml(b"<?xml version='1.0'?><r><!-- c --><?pi x?><a>1</a></r>")
    assert [child.tag for child in root] == ["a"]


def test_build_xml_shares_parents_and_sets_attributes() -> None:
    body = build_xml(
        "lead",
        [
            ((("contact", "phone"), None), "1"),
            (((), "v"), "2"),
            ((("contact",), "kind"), "home"),
            ((("contact", "email"), None), "a@b\x07"),
        ],
    )
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?><lead v="2"><contact kind="home">'
        b"<phone>1</phone><email>a@b</email></contact></lead>"
    )
