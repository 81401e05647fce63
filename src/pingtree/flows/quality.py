"""A campaign's quality steps before the auction (issue 15), run on a full lead: a post's or
a direct post's (a ping carries no PII, so no phone or email to check).

Steps run in the configured order. Each one's results land in the lead's values (for the
orders' filters, and stored with the lead) and a line in its trace; a failing step rejects
the lead with its reason (the steps after it do not run) or flags it and goes on. A
campaign with no steps costs nothing: the flows do not call in here.

An HTTP step calls its service with the one pooled client, within its own timeout and the
request's deadline (``delivery.check_run``); its PII goes to that service only, never
into the trace.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pingtree.delivery.check_run import run_check
from pingtree.delivery.checks import CompiledCheck
from pingtree.delivery.values import to_text
from pingtree.domain.campaigns import Campaign
from pingtree.domain.consent import check_consent, missing_evidence
from pingtree.domain.fields import FieldError
from pingtree.domain.outcomes import Reason
from pingtree.domain.quality import (
    StepResult,
    check_email,
    check_phone,
    consent_result,
    http_result,
    suppression_result,
)
from pingtree.domain.quality_steps import QualityStep, StepKind
from pingtree.domain.verticals import FieldType, LeadValue, Vertical
from pingtree.flows.errors import InputError
from pingtree.flows.ports import Ports
from pingtree.store.lead_fields import dedup_keys
from pingtree.store.suppression import SuppressionRepository

__all__ = ["Checked", "run_steps"]


@dataclass(frozen=True, slots=True)
class Checked:
    #: the lead's values with the steps' results (and the fields they normalized)
    values: dict[str, LeadValue]
    results: tuple[StepResult, ...]
    #: the reason of the step that rejected the lead; ``None``: it goes to the auction
    refusal: Reason | None
    #: the fields at fault in that refusal, when the step names them (consent)
    fields: tuple[str, ...] = ()

    def answer(self) -> dict[str, Any]:
        """What the refusal's answer carries besides its reason: ``fields`` at fault."""
        return {"fields": list(self.fields)} if self.fields else {}

    def trace(self) -> list[dict[str, Any]]:
        """The steps' lines, for the lead's trace (``auction["steps"]``)."""
        return [result.to_json() for result in self.results]


async def run_steps(
    ports: Ports,
    campaign: Campaign,
    vertical: Vertical,
    values: Mapping[str, LeadValue],
    *,
    deadline: float | None = None,
) -> Checked:
    """Run ``campaign.steps`` on the lead's ``values`` (validated, normalized). HTTP steps
    answer by ``deadline`` (a ``time.monotonic()`` instant; default: the campaign's ping
    deadline from now). Raises :class:`InputError` when the campaign requires consent
    evidence the lead lacks (before anything is stored)."""
    if deadline is None:
        deadline = time.monotonic() + campaign.ping_deadline_ms / 1000
    out = dict(values)
    results: list[StepResult] = []
    for step in campaign.steps:
        result = await _run(ports, step, vertical, out, deadline)
        results.append(result)
        out.update(result.results)
        spec = vertical.field(step.field) if step.field else None
        if result.normalized is not None and spec is not None and spec.type is FieldType.STRING:
            out[spec.name] = result.normalized  # a text field takes the canonical spelling
        if result.reason is not None:
            fields = (result.at_fault,) if result.at_fault else ()
            return Checked(out, tuple(results), result.reason, fields)
    return Checked(out, tuple(results), None)


async def _run(
    ports: Ports,
    step: QualityStep,
    vertical: Vertical,
    values: Mapping[str, LeadValue],
    deadline: float,
) -> StepResult:
    if step.kind is StepKind.HTTP and isinstance(step.call, CompiledCheck):
        pii = {
            spec.name: to_text(value)
            for spec in vertical.fields
            if spec.pii and (value := values.get(spec.name)) is not None
        }
        answer = await run_check(
            ports.http,
            step.call,
            values,
            deadline=deadline,
            resolve_secret=ports.resolve_secret,
            pii=pii,
        )
        return http_result(step, answer.passed, answer.results, answer.detail)
    if step.kind is StepKind.CONSENT and step.consent is not None:
        # missing or malformed evidence is bad input: a 4xx naming each field
        missing = missing_evidence(step.consent, values)
        if missing:
            raise InputError(
                [FieldError(("body", "fields", name), msg, "consent") for name, msg in missing]
            )
        return consent_result(step, check_consent(step.consent, values, ports.clock.now()))
    if step.kind is StepKind.PHONE:
        return check_phone(step, values.get(step.field or "phone"))
    if step.kind is StepKind.EMAIL:
        return check_email(step, values.get(step.field or "email"))
    keys = dedup_keys(vertical, _only(values, step.field), ports.vault)
    async with ports.sessions() as session:
        matched = await SuppressionRepository(session).matches(step.lists, keys)
    return suppression_result(step, matched)


def _only(values: Mapping[str, LeadValue], name: str | None) -> Mapping[str, LeadValue]:
    """The values a suppression step reads: its field's, else every one."""
    if name is None:
        return values
    return {name: values[name]} if name in values else {}
