"""A campaign's quality steps before the auction (issue 15), run on a full lead: a post's or
a direct post's (a ping carries no PII, so no phone or email to check).

Steps run in the configured order. Each one's results land in the lead's values (for the
orders' filters, and stored with the lead) and a line in its trace; a failing step rejects
the lead with its reason (the steps after it do not run) or flags it and goes on. A
campaign with no steps costs nothing: the flows do not call in here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pingtree.domain.model import Campaign, FieldType, LeadValue, Vertical
from pingtree.domain.outcomes import Reason
from pingtree.domain.quality import StepResult, check_email, check_phone, suppression_result
from pingtree.domain.quality_steps import QualityStep, StepKind
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

    def trace(self) -> list[dict[str, Any]]:
        """The steps' lines, for the lead's trace (``auction["steps"]``)."""
        return [result.to_json() for result in self.results]


async def run_steps(
    ports: Ports, campaign: Campaign, vertical: Vertical, values: Mapping[str, LeadValue]
) -> Checked:
    """Run ``campaign.steps`` on the lead's ``values`` (validated, normalized)."""
    out = dict(values)
    results: list[StepResult] = []
    for step in campaign.steps:
        result = await _run(ports, step, vertical, out)
        results.append(result)
        out.update(result.results)
        spec = vertical.field(step.field) if step.field else None
        if result.normalized is not None and spec is not None and spec.type is FieldType.STRING:
            out[spec.name] = result.normalized  # a text field takes the canonical spelling
        if result.reason is not None:
            return Checked(out, tuple(results), result.reason)
    return Checked(out, tuple(results), None)


async def _run(
    ports: Ports, step: QualityStep, vertical: Vertical, values: Mapping[str, LeadValue]
) -> StepResult:
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
