"""A quality step that calls an outside service (``type: http``): its YAML shape and its
compilation, with the same request and response machinery as a buyer's delivery step
(``delivery.spec``); :mod:`pingtree.delivery.check_run` sends it.

::

    steps:
      - type: http
        name: trustedform          # its results land under trustedform.*
        preset: trustedform        # delivery.check_presets: request, results, inputs
        on_fail: reject            # the service said no: reject (or flag)
        on_error: flag             # no usable answer: reject, flag or continue
        inputs:                    # lead fields the call needs, each with an RE2 pattern;
          trusted_form_cert_id: "^([0-9a-f]{40})$"   # a group: the part that is sent
        request:                   # a delivery step (delivery.spec): url, method, headers,
          url: "https://cert.trustedform.com/{trusted_form_cert_id}"   # auth, vars, body,
          auth: {type: basic, username: API, password: {secret: tf_key}}  # timeout_ms,
          response:                # response: accepted / rejected / reason
            accepted: {json: "$.outcome", equals: [success]}
        error_when: {json: "$.outcome", equals: [error]}   # the service's own failure
        results:                   # named results written into the lead, for filters
          verified: {json: "$.outcome", equals: [success], as: boolean}
          score: {json: "$.score", as: number}      # boolean | number | text

A result ``as: boolean`` is whether its rule holds (it needs a test, as ``accepted``
does); ``number`` and ``text`` are the value it reads. The request may carry PII (the
service is the operator's): it is never logged, and the step's trace holds no value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pingtree.delivery.check_presets import CHECK_PRESETS
from pingtree.delivery.compile_response import compile_rule
from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.jsonpaths import compile_re2
from pingtree.delivery.models import RuleOrRules, RuleSpec, StepSpec
from pingtree.delivery.resolve import shape_issues
from pingtree.delivery.rules import CompiledRule
from pingtree.delivery.step_compiler import StepCompiler

__all__ = [
    "CheckSpec",
    "CompiledCheck",
    "CompiledResult",
    "ResultSpec",
    "compile_check",
]

#: a check that says nothing of its timeout waits this long at most (and never past the
#: request's deadline)
DEFAULT_TIMEOUT_MS = 2_000
#: response rules of a buyer's step a check has no use for
_BUYER_ONLY = ("bid", "bid_exclusive", "bid_shared", "token", "redirect_url")


class ResultSpec(RuleSpec):
    """A named result: a rule, and the type the lead holds it as."""

    as_: Literal["boolean", "number", "text"] = Field(default="text", alias="as")


class CheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request: StepSpec
    results: dict[str, ResultSpec] = {}
    inputs: dict[str, str] = {}
    error_when: RuleOrRules | None = None


@dataclass(frozen=True, slots=True)
class CompiledResult:
    #: the short name as configured (``verified``)
    key: str
    #: ``boolean``, ``number`` or ``text``
    kind: str
    rule: CompiledRule


@dataclass(frozen=True, slots=True)
class CompiledCheck:
    """One service call, compiled once per snapshot."""

    step: CompiledStep
    results: tuple[CompiledResult, ...] = ()
    #: lead field → RE2 pattern its value must match (its first group: what is sent)
    inputs: tuple[tuple[str, Any], ...] = ()
    #: any of these holding: the service failed (an error, not the lead's)
    error_when: tuple[CompiledRule, ...] = ()


def compile_check(
    raw: Mapping[str, object],
    preset: str | None,
    pii_fields: frozenset[str],
    known_fields: frozenset[str],
) -> tuple[CompiledCheck | None, list[tuple[str, str]]]:
    """A step's ``request``, ``results``, ``inputs`` and ``error_when`` (``raw``), over its
    ``preset``'s, checked and compiled. The issues are ``(path, msg)`` with paths relative
    to the step: an unknown preset, shape errors (nothing else is checked then), every
    issue a buyer's post step would have under ``request``, a buyer-only rule (``bid``,
    ``token``, ``redirect_url``), result names that are not identifiers, a boolean result
    without a test, inputs that are not fields or whose pattern RE2 refuses."""
    issues: list[tuple[str, str]] = []
    if preset is not None:
        base = CHECK_PRESETS.get(preset)
        if base is None:
            known = ", ".join(sorted(CHECK_PRESETS))
            return None, [("preset", f"unknown preset {preset!r} (known: {known})")]
        raw = _extend(base, raw)
    try:
        spec = CheckSpec.model_validate(raw)
    except ValidationError as exc:
        return None, shape_issues(raw, exc)
    request = spec.request
    if request.timeout_ms is None:
        request = request.model_copy(update={"timeout_ms": DEFAULT_TIMEOUT_MS})
    for key in ("same_as", "preset", "retries", "on_unknown", "test_marker"):
        if getattr(request, key) is not None:
            issues.append((f"request.{key}", "not for a quality step's call"))
    compiler = StepCompiler("request", request, {}, pii_fields, known_fields, issues)
    step = compiler.compile()
    for key in _BUYER_ONLY:
        if request.response is not None and getattr(request.response, key) is not None:
            issues.append((f"request.response.{key}", "a buyer's answer: results go under results"))
    results: list[CompiledResult] = []
    for key, result in spec.results.items():
        path = f"results.{key}"
        if not key.isidentifier() or len(key) > 32:
            issues.append((path, "a result's name is an identifier (verified, score)"))
            continue
        rule_spec = RuleSpec.model_validate(result.model_dump(by_alias=True, exclude={"as_"}))
        rule = compile_rule(compiler, rule_spec, path, verdict=result.as_ == "boolean")
        if rule is not None:
            results.append(CompiledResult(key, result.as_, rule))
    inputs: list[tuple[str, Any]] = []
    for name, pattern in spec.inputs.items():
        path = f"inputs.{name}"
        if name not in known_fields:
            issues.append((path, f"unknown field {name!r}"))
            continue
        try:
            inputs.append((name, compile_re2(pattern)))
        except ValueError as exc:
            issues.append((path, str(exc)))
    error_when: list[CompiledRule] = []
    rules = spec.error_when
    listed = rules if isinstance(rules, list) else [] if rules is None else [rules]
    for index, when in enumerate(listed):
        path = f"error_when[{index}]" if isinstance(rules, list) else "error_when"
        compiled = compile_rule(compiler, when, path, verdict=True)
        if compiled is not None:
            error_when.append(compiled)
    if issues or step is None:
        return None, list(dict.fromkeys(issues))
    return CompiledCheck(step, tuple(results), tuple(inputs), tuple(error_when)), []


def _extend(base: Mapping[str, object], own: Mapping[str, object]) -> dict[str, object]:
    """``own`` over ``base``: the request key by key (its response rule by rule), results
    and inputs name by name; ``error_when`` whole."""
    out: dict[str, object] = {**base, **own}
    for key in ("results", "inputs"):
        out[key] = {**_mapping(base.get(key)), **_mapping(own.get(key))}
    request = {**_mapping(base.get("request")), **_mapping(own.get("request"))}
    base_response = _mapping(_mapping(base.get("request")).get("response"))
    own_response = _mapping(_mapping(own.get("request")).get("response"))
    if base_response or own_response:
        request["response"] = {**base_response, **own_response}
    out["request"] = request
    return out


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
