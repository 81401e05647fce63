"""Every exchange under ``fixtures/<style>/{exemplary,supplemental}/*.json``, run alike.

A fixture holds ``spec`` (the order's ``delivery``), ``step`` (``ping``/``post``), ``lead``
(values; ``{"date": …}``/``{"decimal": …}`` for typed ones), optional ``token``, ``max_bid``
and ``fixed_price`` (the order's pricing is fixed: its ping is accept-only), then
``expected_request`` (method, url, a subset of headers, body as text), ``response`` (status,
headers, body as text; ``pad_to`` pads the body with spaces to that many bytes) and
``expected_answer``, or ``expected_error`` with its ``stage`` (``compile``, ``render`` or
``answer``) and ``code``/``path``/``contains``.

A delivery chain's step is ``step: "chain.<name>"``; its ``expected_verdict`` (what the
poster makes of the answer) is checked over real HTTP by ``test_fixture_exchanges.py``,
with the notices' fixtures (``fixtures/notices``: a shape of their own).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pingtree.delivery.compiled import CompiledDelivery, CompiledStep
from pingtree.delivery.errors import (
    AnswerError,
    DeliveryConfigError,
    DeliveryError,
    RenderError,
)
from pingtree.delivery.read import BuyerAnswer, read_answer
from pingtree.delivery.render import OutboundRequest, render
from pingtree.delivery.spec import compile_delivery
from pingtree.domain.orders import Leg
from tests.delivery.support import KNOWN, PII, lead_values, resolve_secret

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted(p for p in FIXTURES.glob("*/*/*.json") if p.parts[-3] != "notices")
_KEYS = {
    "description",
    "spec",
    "step",
    "lead",
    "token",
    "max_bid",
    "fixed_price",
    "expected_request",
    "response",
    "expected_answer",
    "expected_error",
    "expected_verdict",
}


def fixture_step(delivery: CompiledDelivery, name: str) -> CompiledStep:
    """The fixture's step: ``ping``, ``post`` or ``chain.<name>``."""
    if name.startswith("chain."):
        step = next((link.step for link in delivery.chain if link.name == name[6:]), None)
    else:
        step = delivery.ping if name == "ping" else delivery.post
    assert step is not None, f"the fixture's step {name} is not in its spec"
    return step


def _id(path: Path) -> str:
    return str(path.relative_to(FIXTURES).with_suffix(""))


def test_fixture_layout() -> None:
    assert len(FILES) >= 30
    for path in FILES:
        assert path.parent.name in ("exemplary", "supplemental"), path
    # exemplary files are clean exchanges: no errors, they feed the docs
    for path in FIXTURES.glob("*/exemplary/*.json"):
        assert "expected_error" not in json.loads(path.read_text()), path


@dataclass
class _Outcome:
    """How far an exchange got: the stage that raised (with its error), or the answer."""

    request: OutboundRequest | None = None
    answer: BuyerAnswer | None = None
    stage: str | None = None
    error: DeliveryError | None = None


def _exchange(case: dict[str, Any]) -> _Outcome:
    outcome = _Outcome()
    try:
        delivery = compile_delivery(
            case["spec"], PII, KNOWN, fixed_price=case.get("fixed_price", False)
        )
    except DeliveryConfigError as exc:
        return _Outcome(stage="compile", error=exc)
    step = fixture_step(delivery, case["step"])
    try:
        outcome.request = render(
            step,
            lead_values(case.get("lead", {})),
            token=case.get("token"),
            resolve_secret=resolve_secret,
        )
    except RenderError as exc:
        return _Outcome(stage="render", error=exc)
    response = case["response"]
    body = response.get("body", "").encode()
    if "pad_to" in response:
        body = body.ljust(response["pad_to"], b" ")
    max_bid = Decimal(case["max_bid"]) if "max_bid" in case else None
    try:
        outcome.answer = read_answer(
            step, response["status"], response.get("headers", {}), body, max_bid=max_bid
        )
    except AnswerError as exc:
        outcome.stage, outcome.error = "answer", exc
    return outcome


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_fixture(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    assert set(case) <= _KEYS, set(case) - _KEYS
    assert ("expected_answer" in case) != ("expected_error" in case), "one expectation"
    outcome = _exchange(case)

    expected_error: dict[str, Any] = case.get("expected_error") or {}
    assert outcome.stage == expected_error.get("stage"), outcome.error or outcome.answer
    if isinstance(outcome.error, DeliveryConfigError):
        wanted_path = expected_error.get("path")
        assert any(
            wanted_path in (None, where) and expected_error.get("contains", "") in msg
            for where, msg in outcome.error.issues
        ), outcome.error.issues
        return
    if outcome.error is not None:
        assert expected_error.get("contains", "") in str(outcome.error)
    if isinstance(outcome.error, AnswerError):
        assert outcome.error.code == expected_error["code"]

    expected_request = case.get("expected_request")
    if expected_request is not None:
        assert outcome.request is not None
        _check_request(outcome.request, expected_request)
    if "expected_answer" in case:
        assert outcome.answer == _answer(case["expected_answer"])


def _check_request(request: OutboundRequest, expected: dict[str, Any]) -> None:
    assert request.method == expected["method"]
    assert request.url == expected["url"]
    headers = dict(request.headers)
    assert len(headers) == len(request.headers), "a header set twice"
    for name, value in expected.get("headers", {}).items():
        assert headers.get(name) == value, name
    for name in expected.get("absent_headers", []):
        assert name.lower() not in {h.lower() for h in headers}, name
    assert request.body.decode() == expected["body"]


def _answer(raw: dict[str, Any]) -> BuyerAnswer:
    bid = raw.get("bid")
    return BuyerAnswer(
        accepted=raw["accepted"],
        bid=None if bid is None else Decimal(bid),
        token=raw.get("token"),
        redirect_url=raw.get("redirect_url"),
        reason=raw.get("reason"),
        leg_bids={Leg(leg): Decimal(price) for leg, price in raw.get("leg_bids", {}).items()},
    )
