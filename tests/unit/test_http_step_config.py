"""HTTP quality steps as configured: their names, the keys only they take, their results as
fields orders may filter on, and a step's verdict as its trace line shows it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pingtree.config.quality import compile_steps, with_step_results
from pingtree.config.vertical_spec import QualityStepSpec
from pingtree.domain.campaigns import Campaign, PayoutModel
from pingtree.domain.fields import with_tracking_fields
from pingtree.domain.outcomes import Reason
from pingtree.domain.quality import http_result
from pingtree.domain.quality_steps import OnError, OnFail, ResultKind, StepKind
from pingtree.domain.verticals import FieldSpec, FieldType, Vertical

FIELDS = with_tracking_fields(
    (
        FieldSpec("phone", FieldType.PHONE, pii=True),
        FieldSpec("email", FieldType.EMAIL, pii=True),
    )
)
SCORE = {"type": "http", "name": "score", "request": {"url": "https://s.example/v1"}}


def _steps(*raw: dict[str, Any]) -> tuple[tuple[Any, ...], list[tuple[str, str, object]]]:
    return compile_steps([QualityStepSpec.model_validate(r) for r in raw], FIELDS, "s")


def test_a_preset_names_its_step_and_its_results() -> None:
    (step,), issues = _steps({"type": "http", "preset": "trustedform", "on_fail": "flag"})
    assert issues == []
    assert (step.kind, step.label, step.on_fail, step.on_error) == (
        StepKind.HTTP,
        "trustedform",
        OnFail.FLAG,
        OnError.FLAG,  # unset: as on_fail
    )
    assert step.results == (
        ("trustedform.verified", ResultKind.BOOLEAN),
        ("trustedform.lead_matched", ResultKind.BOOLEAN),
        ("trustedform.expires_at", ResultKind.TEXT),
    )


def test_names_and_keys_are_checked_at_their_paths() -> None:
    _, issues = _steps(
        {"type": "http", "request": {"url": "https://s.example/"}},
        SCORE,
        SCORE,
        {"type": "http", "preset": "trustedform", "field": "phone"},
        {"type": "email", "on_error": "continue"},
        {
            "type": "http",
            "name": "x",
            "request": {"url": "https://s.example/"},
            "inputs": {"fax": "."},
        },
    )
    assert [(path, msg) for path, msg, _ in issues] == [
        ("s[0].name", "an http step needs a name (its results' prefix)"),
        ("s[2].name", "another http step has this name"),
        ("s[3].field", "an http step does not take field"),
        ("s[4].on_error", "only an http step takes on_error"),
        ("s[5].inputs.fax", "unknown field 'fax'"),
    ]


def test_orders_see_the_results_of_their_verticals_campaigns_steps() -> None:
    (mine,), _ = _steps({**SCORE, "results": {"value": {"json": "$.s", "as": "number"}}})
    (theirs,), _ = _steps(
        {**SCORE, "results": {"value": {"json": "$.s", "ge": 1, "as": "boolean"}}}
    )
    vertical = Vertical("auto", "Auto", FIELDS)

    def campaign(campaign_id: str, step: Any) -> Campaign:
        return Campaign(
            campaign_id, "acme", "auto", campaign_id, frozenset({"direct_post"}),
            PayoutModel.FIXED, Decimal("5.00"), steps=(step,),
        )  # fmt: skip

    verticals, issues = with_step_results({"auto": vertical}, [campaign("a", mine)])
    assert issues == []
    added = verticals["auto"].field("score.value")
    assert added is not None
    assert added.type is FieldType.DECIMAL
    _, issues = with_step_results({"auto": vertical}, [campaign("a", mine), campaign("b", theirs)])
    assert [path for path, _, _ in issues] == ["steps.results.score.value"]


def test_a_verdict_becomes_its_trace_line_and_reason() -> None:
    (step,), _ = _steps({**SCORE, "on_error": "reject"})
    failed = http_result(step, False, {"valid": False}, "the service said no: HTTP 404")
    assert failed.reason is Reason.VERIFICATION_FAILED
    assert failed.to_json() == {
        "step": "score",
        "kind": "http",
        "field": None,
        "action": "reject",
        "results": {"score.valid": False},
        "detail": "the service said no: HTTP 404",
        "reason": "verification_failed",
    }
    error = http_result(step, None, {}, "no answer: timeout")
    assert (error.action, error.reason) == ("reject", Reason.VERIFICATION_UNAVAILABLE)
    assert error.to_json()["error"] is True
    passed = http_result(step, True, {"score": 3}, "")
    assert (passed.action, passed.reason, passed.results) == ("continue", None, {"score.score": 3})
