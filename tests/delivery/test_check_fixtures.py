"""The quality steps' presets (``delivery.check_presets``) against fixtures of their
vendors' published contracts: ``check_fixtures/<preset>/{exemplary,supplemental}/*.json``.

A fixture holds ``check`` (the step: its ``preset`` and own keys), ``lead``, ``source``
(where the contract is published), then ``expected_request`` (method, url, a subset of
headers, body as text; absent: no request is made), ``response`` (status, headers, body;
``pad_to`` pads the body to that many bytes) and ``expected``: ``passed`` (``true``,
``false`` or ``null`` for an error), ``results`` (by short name, as JSON) and a ``detail``
the step's detail contains.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pingtree.delivery.check_run import CheckAnswer, prepare_check, read_check
from pingtree.delivery.checks import compile_check
from pingtree.delivery.render import OutboundRequest
from pingtree.domain.fields import to_json_value
from tests.delivery.support import KNOWN, PII, lead_values

FIXTURES = Path(__file__).parent / "check_fixtures"
FILES = sorted(FIXTURES.glob("*/*/*.json"))
FIELDS = KNOWN | {"trusted_form_cert_id", "lead_ref"}
SECRETS = {"trustedform_api_key": "tf-key-789", "jornaya_account_code": "jornaya-ac-1"}
SECRETS["fraud_key"] = "fk-1"
_KEYS = {"description", "source", "check", "lead", "expected_request", "response", "expected"}


def _id(path: Path) -> str:
    return str(path.relative_to(FIXTURES).with_suffix(""))


def test_every_preset_has_its_contract() -> None:
    presets = {path.parent.parent.name for path in FILES}
    assert presets == {"trustedform", "jornaya", "fraud_score"}
    for path in FILES:
        case = json.loads(path.read_text())
        assert path.parent.name in ("exemplary", "supplemental"), path
        assert case["source"].startswith("https://"), path  # where the contract is published
        if path.parent.name == "exemplary":
            assert case["expected"]["passed"] is True, path


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_check_fixture(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    assert set(case) <= _KEYS, set(case) - _KEYS
    raw = {key: value for key, value in case["check"].items() if key != "preset"}
    check, issues = compile_check(raw, case["check"].get("preset"), PII, FIELDS)
    assert check is not None, issues
    lead = lead_values(case.get("lead", {}))
    prepared = prepare_check(check, lead, resolve_secret=SECRETS.__getitem__)
    if "expected_request" in case:
        assert isinstance(prepared, OutboundRequest), prepared
        _check_request(prepared, case["expected_request"])
    if isinstance(prepared, CheckAnswer):
        assert "response" not in case, "no request was made"
        answer = prepared
    else:
        response = case["response"]
        body = response.get("body", "").encode()
        if "pad_to" in response:
            body = body.ljust(response["pad_to"], b" ")
        pii = {name: str(value) for name, value in lead.items() if name in PII}
        answer = read_check(check, response["status"], response.get("headers", {}), body, pii)
    expected = case["expected"]
    assert answer.passed is expected["passed"], answer
    assert {k: to_json_value(v) for k, v in answer.results.items()} == expected["results"]
    assert expected.get("detail", "") in answer.detail, answer.detail
    for value in case.get("lead", {}).values():
        if len(str(value)) > 8:
            assert str(value) not in answer.detail  # no lead value in a trace's words


def _check_request(request: OutboundRequest, expected: dict[str, Any]) -> None:
    assert request.method == expected["method"]
    assert request.url == expected["url"]
    headers = dict(request.headers)
    for name, value in expected.get("headers", {}).items():
        assert headers.get(name) == value, name
    assert request.body.decode() == expected["body"]
