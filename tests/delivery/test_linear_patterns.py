"""Every configured pattern runs in linear time (DESIGN §8.6): a JSONPath filter's regex
runs on RE2, a path or XPath whose cost grows faster than the answer is refused when the
configuration is applied, and no answer makes a rule raise out or stall the server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from pingtree.delivery.errors import AnswerError, AnswerErrorCode, DeliveryConfigError
from pingtree.delivery.jsonpaths import MAX_JSONPATH_STEPS
from pingtree.delivery.read import read_answer
from pingtree.mockbuyer import MockBuyer
from tests.api.conftest import SECRET, market_settings
from tests.api.market import PING, buyer, campaign, marketplace, order
from tests.delivery.support import compile_spec
from tests.support.buyers import running_buyers
from tests.support.processes import cli, free_port, kill_server, server_env, start_server

#: catastrophic backtracking on Python's `re`: 26 characters held a ping for 2.7 s
EVIL = "(a+)+$"
#: about 100 KB of `a` that the pattern cannot match (the `!`), in every answer
LONG_A = "a" * 100_000 + "!"


def _ping_step(response: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": "https://api.buyer.example/ping",
        "body": {"fields": [{"from": "zip", "to": "zip"}]},
        "response": {"bid": {"json": "$.price"}, **response},
    }


def _issues(response: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DeliveryConfigError) as caught:
        compile_spec({"ping": _ping_step(response), "post": {"url": "https://b.example/post"}})
    return dict(caught.value.issues)


def _answer(response: dict[str, Any], body: object) -> Any:
    step = compile_spec(
        {"ping": _ping_step(response), "post": {"url": "https://b.example/post"}}
    ).ping
    assert step is not None
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return read_answer(step, 200, {"Content-Type": "application/json"}, raw)


# --- JSONPath filters run on RE2 -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"$[?(@ =~ /{EVIL}/)]",
        f"$[?match(@, '{EVIL}')]",
        f"$[?search(@, '{EVIL}')]",
        # a pattern read from the answer itself runs on RE2 too
        "$.items[?match(@.x, @.p)]",
    ],
)
def test_a_backtracking_pattern_against_a_long_answer_is_linear(path: str) -> None:
    body = {"price": 12.5, "x": LONG_A, "items": [{"x": LONG_A, "p": EVIL}]}
    answer = _answer({"rejected": {"json": path, "present": True}}, body)
    # not rejected: the pattern cannot match the trailing `!`, found out in linear time
    assert (answer.accepted, answer.bid) == (True, 12.5)


def test_filter_patterns_keep_their_meaning_on_re2() -> None:
    body = {"price": 3, "bids": [{"who": "Acme Corp", "p": 7}, {"who": "other", "p": 9}]}
    for path in ("$.bids[?(@.who =~ /acme.*/i)].p", "$.bids[?search(@.who, 'Corp')].p"):
        assert _answer({"bid": {"json": path}}, body).bid == 7
    assert _answer({"bid": {"json": "$.bids[?match(@.who, 'oth.r')].p"}}, body).bid == 9


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("$[?(@.x =~ /(a)\\1/)]", "filter pattern /(a)\\1/ not an RE2 pattern"),
        ("$[?(@.x =~ /a(?=b)/)]", "no backreferences or lookaround"),
        ("$[?match(@.x, '(a)\\\\1')]", "match() pattern"),
        ("$[?search(@.x, '(?<!a)b')]", "search() pattern"),
        ("$..a..b", "2 recursive descents"),
        ("$..[?(@..x)]", "inside a filter"),
        ("$[?count(@..x) > 1]", "inside a filter"),
        ("$[?(@.x == $.y)]", "not the root ($)"),
        ("$.a | $.b", "no | or &"),
    ],
)
def test_a_pattern_or_path_that_is_not_linear_is_refused_with_its_path(
    path: str, says: str
) -> None:
    issues = _issues({"rejected": [{"json": "$.ok", "present": True}, {"json": path}]})
    assert says in issues["ping.response.rejected[1].json"], issues


# --- XPaths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xpath", "says"),
    [
        ("//a//a//a//a", "4 descents"),
        ("//a/ancestor::*", "ancestor axis"),
        ("/r/*/following-sibling::*[1]", "following-sibling axis"),
        ("/r/a[preceding::b]", "preceding axis"),
        ("/r/a[.//b = 'x']", "inside a predicate"),
        ("/r/a[descendant::b]", "inside a predicate"),
    ],
)
def test_an_xpath_whose_cost_grows_faster_than_the_answer_is_refused(xpath: str, says: str) -> None:
    issues = _issues({"reason": {"xpath": xpath}})
    assert says in issues["ping.response.reason.xpath"], issues


@pytest.mark.parametrize(
    "xpath", ["//price", "/response/bid/@amount", "string(//a[@k = '//x'])", "count(//b) > 0"]
)
def test_xpaths_down_the_tree_are_accepted(xpath: str) -> None:
    step = compile_spec(
        {
            "ping": {
                **_ping_step({}),
                "content_type": "xml",
                "response": {"bid": {"xpath": xpath}},
            },
            "post": {"url": "https://b.example/post"},
        }
    ).ping
    assert step is not None


# --- no answer makes a rule raise out ------------------------------------------------------------


def test_deep_nesting_is_an_unreadable_answer_not_a_crash() -> None:
    # orjson reads up to 1024 levels; past 1000 a value's text (for `equals`) cannot be made
    deep = b"[" * 1020 + b'"x"' + b"]" * 1020
    for rule in ({"json": "$..price"}, {"json": "$[0][0]"}, {"json": "$[?(@[0])]"}):
        with pytest.raises(AnswerError) as caught:
            _answer({"accepted": {**rule, "equals": ["x"]}}, deep)
        assert caught.value.code is AnswerErrorCode.UNREADABLE, rule
    # the same rules on a sane answer
    assert _answer({"accepted": {"json": "$[0][0]", "equals": ["x"]}}, b'[["x"]]').accepted


def test_a_path_over_a_huge_answer_gives_up_after_its_steps() -> None:
    # linear, but python-jsonpath's few microseconds a node would hold the event loop
    # for 0.4 s over 240 KB of numbers: the rule stops at its budget
    numbers = b"[" + b",".join([b"1"] * 120_000) + b"]"
    objects = b"[" + b",".join([b'{"a":1}'] * 30_000) + b"]"
    for path, body in (("$[?(@ == 2)]", numbers), ("$[*].price", numbers), ("$..price", objects)):
        with pytest.raises(AnswerError) as caught:
            _answer({"accepted": {"json": path, "present": True}}, body)
        assert caught.value.code is AnswerErrorCode.UNREADABLE
        assert f"over {MAX_JSONPATH_STEPS} steps" in str(caught.value)
    # a large answer of the usual shape still reads
    bids = [{"price": 1.5, "who": "x", "meta": {"a": [1, 2, 3]}} for _ in range(2000)]
    usual = {"result": {"bids": bids}, "price": 3}
    assert len(orjson.dumps(usual)) > 80_000
    assert _answer({"accepted": {"json": "$..price", "equals": ["3"]}}, usual).bid == 3
    at_last = {"result": {"bids": bids, "total": {"price": 7}}}
    assert _answer({"bid": {"json": "$.result..total.price"}}, at_last).bid == 7


# --- a real ping to a real buyer -----------------------------------------------------------------


@pytest.fixture
def mock() -> Iterator[MockBuyer]:
    with running_buyers(
        {"long": {"bid": {"kind": "fixed", "amount": "35.00"}, "extra": {"x": LONG_A}}}
    ) as running:
        yield running


def _live_order(mock: MockBuyer, rejected_path: str) -> dict[str, Any]:
    delivery = {
        "ping": {
            "url": mock.ping_url("long"),
            "content_type": "json",
            "timeout_ms": 800,
            "body": {"fields": [{"from": "zip", "to": "zip"}]},
            "response": {
                "accepted": {"json": "$.status", "equals": ["success"]},
                "rejected": {"json": rejected_path, "present": True},
                "bid": {"json": "$.price"},
            },
        },
        "post": {"url": mock.post_url("long")},
    }
    return order("long_live", None, pricing={"type": "bid"}, delivery=delivery)


def test_a_backtracking_filter_on_a_100_kb_answer_answers_the_ping_by_its_deadline(
    tmp_path: Path, mock: MockBuyer
) -> None:
    env = server_env(market_settings(tmp_path), SECRET, PINGTREE_OUTBOUND_ALLOW='["127.0.0.1"]')
    config = tmp_path / "market.yaml"
    market = marketplace(
        [buyer("long", _live_order(mock, f"$[?(@ =~ /{EVIL}/)]"))],
        [campaign(ping_deadline_ms=1000)],
    )
    config.write_text(yaml.safe_dump(market))
    cli(env, "apply", str(config))
    seller = {"Authorization": f"Bearer {cli(env, 'key', 'create', 'acme_auto')}"}
    port = free_port()
    server = start_server(env, port, tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        # on Python's `re` the server's event loop never comes back: this times out
        pinged = httpx.post(f"{url}/api/v1/ping", json={"fields": PING}, headers=seller, timeout=30)
        assert pinged.status_code == 200, pinged.text
        assert (pinged.json()["status"], pinged.json()["bid"]) == ("accepted", "24.50")
        (request,) = mock.requests_to("long", "ping")
        assert request.body == b'{"zip":"33101"}'
        # and the server is still serving
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
    finally:
        kill_server(server)


def test_apply_refuses_a_backreference_naming_the_path(tmp_path: Path, mock: MockBuyer) -> None:
    env = server_env(market_settings(tmp_path), SECRET)
    config = tmp_path / "market.yaml"
    config.write_text(
        yaml.safe_dump(marketplace([buyer("long", _live_order(mock, "$[?(@ =~ /(a)\\1/)]"))]))
    )
    refused = subprocess.run(
        [sys.executable, "-m", "pingtree", "apply", str(config)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert refused.returncode == 1, refused.stdout
    assert "buyers[0].orders[0].delivery.ping.response.rejected.json" in refused.stderr
    assert "backreferences" in refused.stderr
    # nothing of the refused file was applied
    assert not (yaml.safe_load(cli(env, "export")) or {}).get("buyers")
