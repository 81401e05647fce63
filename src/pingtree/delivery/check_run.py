"""Run a quality step's call to an outside service (``delivery.checks``): check its inputs,
build the request (pure), send it (the only I/O), read the answer (pure).

A service is treated like a buyer (DESIGN §7, §8.6): bounded by the step's timeout and the
request's deadline, its body read up to :data:`MAX_ANSWER_BYTES`, read body first by the
step's rules. Its answer is one of three:

- **passed**: the ``accepted`` rules hold (or, without any, a 2xx), no ``rejected`` rule;
- **failed**: the service said no: a ``rejected`` rule, ``accepted`` rules that do not
  hold, a 4xx such as TrustedForm's 404 for an unknown certificate; or an input that is
  missing or not of the shape the call needs (no call is made);
- **error**: no usable answer, not the lead's fault: a timeout, a refused connection, a
  5xx or 429, refused credentials (401, 403, 407), an unreadable or oversized body, an
  ``error_when`` rule, or no time left before the deadline.

Results are read from any readable answer: a boolean result is ``false`` when its rule
does not hold (or the answer cannot be read and the step failed); a number or a text is
absent when not read. After an error no result is written (unknown is not false).

No detail ever holds a lead's value: a service's reason is masked of the lead's PII.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pingtree.delivery.attempts import mask_pii
from pingtree.delivery.checks import CompiledCheck
from pingtree.delivery.client import BuyerClient, SendError, send
from pingtree.delivery.errors import AnswerError, RenderError
from pingtree.delivery.read import MAX_ANSWER_BYTES, MAX_REASON_CHARS, read_answer
from pingtree.delivery.render import OutboundRequest, render
from pingtree.delivery.rules import AnswerBody, CompiledRule, value_text
from pingtree.delivery.values import to_text
from pingtree.domain.verticals import LeadValue

__all__ = ["CheckAnswer", "prepare_check", "read_check", "run_check"]

#: below this, a call is not started: it could not be answered in time
_MIN_BUDGET_S = 0.05
#: the service refused our credentials: the operator's problem, not the lead's
_CREDENTIALS = frozenset({401, 403, 407})
_MAX_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """``passed``: ``True``, ``False`` (the service said no) or ``None`` (an error);
    ``results`` by short name; ``detail`` in words, never a lead's value."""

    passed: bool | None
    results: Mapping[str, LeadValue] = field(default_factory=dict)
    detail: str = ""
    #: the exchange's time, when a request was sent
    elapsed_ms: int | None = None


async def run_check(
    client: BuyerClient,
    check: CompiledCheck,
    values: Mapping[str, LeadValue],
    *,
    deadline: float,
    resolve_secret: Callable[[str], str],
    pii: Mapping[str, str] | None = None,
) -> CheckAnswer:
    """Call the service for a lead's ``values`` by ``deadline`` (a ``time.monotonic()``
    instant) and read its answer (module docstring). ``pii`` (field → the lead's value in
    text) masks the service's reason. Never raises for the service's failure."""
    request = prepare_check(check, values, resolve_secret=resolve_secret)
    if isinstance(request, CheckAnswer):
        return request
    budget = min(check.step.timeout_ms / 1000, deadline - time.monotonic())
    if budget < _MIN_BUDGET_S:
        return CheckAnswer(None, detail="no time left before the request's deadline")
    started = time.monotonic()
    try:
        response = await send(
            client,
            request.method,
            request.url,
            request.headers,
            request.body,
            timeout=budget,
            max_response_bytes=MAX_ANSWER_BYTES + 1,
        )
    except SendError as exc:
        elapsed = round((time.monotonic() - started) * 1000)
        return CheckAnswer(None, detail=f"no answer: {exc.kind}", elapsed_ms=elapsed)
    answer = read_check(check, response.status, response.headers, response.body, pii)
    return dataclasses.replace(answer, elapsed_ms=response.elapsed_ms)


def prepare_check(
    check: CompiledCheck,
    values: Mapping[str, LeadValue],
    *,
    resolve_secret: Callable[[str], str],
) -> OutboundRequest | CheckAnswer:
    """The request to send (pure), or the step's answer without one: failed when an input
    is missing or not of its shape, an error when the request cannot be built."""
    sent_values, missing = _inputs(check, values)
    if missing:
        return CheckAnswer(False, _booleans(check, False), missing)
    try:
        return render(check.step, sent_values, resolve_secret=resolve_secret)
    except (RenderError, KeyError) as exc:
        return CheckAnswer(None, detail=f"the request could not be built: {exc}")


def read_check(
    check: CompiledCheck,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    pii: Mapping[str, str] | None = None,
) -> CheckAnswer:
    """The service's answer read by the step's rules (pure; module docstring)."""
    if status in _CREDENTIALS:
        return CheckAnswer(None, detail=f"the service refused our credentials (HTTP {status})")
    try:
        answer = read_answer(check.step, status, headers, body)
        readable = AnswerBody(status, headers, body)
        if any(_holds(rule, readable) for rule in check.error_when):
            reason = _masked(answer.reason, pii)
            detail = "the service reported an error" + (f": {reason}" if reason else "")
            return CheckAnswer(None, detail=detail)
    except AnswerError as exc:
        return CheckAnswer(None, detail=f"unreadable answer: {exc.code}")
    results = _results(check, readable, failed=not answer.accepted)
    if answer.accepted:
        return CheckAnswer(True, results)
    reason = _masked(answer.reason, pii) or "not accepted"
    return CheckAnswer(False, results, f"the service said no: {reason}")


def _inputs(
    check: CompiledCheck, values: Mapping[str, LeadValue]
) -> tuple[Mapping[str, LeadValue], str]:
    """The values the request is built from (each input as its pattern's group), or what
    is wrong with the first input that does not fit."""
    if not check.inputs:
        return values, ""
    out = dict(values)
    for name, pattern in check.inputs:
        value = values.get(name)
        if value is None or value == "":
            return values, f"{name} is missing"
        match = pattern.search(to_text(value))
        if match is None:
            return values, f"{name} is not of the shape the service takes"
        if pattern.groups:
            out[name] = match.group(1) or ""
    return out, ""


def _results(check: CompiledCheck, body: AnswerBody, *, failed: bool) -> dict[str, LeadValue]:
    results: dict[str, LeadValue] = {}
    for result in check.results:
        try:
            if result.kind == "boolean":
                results[result.key] = result.rule.holds(body)
                continue
            raw = result.rule.value(body)
        except AnswerError:
            if result.kind == "boolean" and failed:
                results[result.key] = False
            continue
        if raw is None or isinstance(raw, dict | list):
            continue
        text = value_text(raw).strip()
        if result.kind == "number":
            number = _number(text)
            if number is not None:
                results[result.key] = number
        elif text:
            results[result.key] = text[:_MAX_TEXT_CHARS]
    return results


def _holds(rule: CompiledRule, body: AnswerBody) -> bool:
    """Whether an ``error_when`` rule holds; a body it cannot read (a 404's HTML page) is
    no sign of the service's failure."""
    try:
        return rule.holds(body)
    except AnswerError:
        return False


def _booleans(check: CompiledCheck, value: bool) -> dict[str, LeadValue]:
    return {result.key: value for result in check.results if result.kind == "boolean"}


def _number(text: str) -> Decimal | None:
    if len(text) > 32:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() and "e" not in text.lower() else None


def _masked(reason: str | None, pii: Mapping[str, str] | None) -> str:
    if not reason:
        return ""
    return mask_pii(reason, pii or {}, cut=True)[:MAX_REASON_CHARS]
