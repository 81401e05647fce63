"""The posting instructions' words on a campaign's checks before it offers a lead: the
consent evidence it requires and the outside services it checks leads with (short texts,
Markdown inline, as the other texts of ``api.instructions_model``)."""

from __future__ import annotations

from pingtree.domain.campaigns import Campaign
from pingtree.domain.consent import EVIDENCE_FIELDS
from pingtree.domain.quality_steps import OnError, OnFail, StepKind

__all__ = ["steps_note"]


def steps_note(campaign: Campaign) -> str:
    """What the campaign checks in a post or direct post beyond the fields' own rules; an
    empty text when it requires no consent and calls no service."""
    text = ""
    for step in campaign.steps:
        policy = step.consent
        if step.kind is StepKind.CONSENT and policy is not None:
            needed = [
                " or ".join(f"`{name}`" for name in EVIDENCE_FIELDS[evidence])
                for evidence in sorted(policy.require)
            ]
            minutes = int(policy.max_age.total_seconds() // 60)
            text += (
                f" This campaign requires consent evidence with each lead: {', '.join(needed)};"
                " `consent_at` is an ISO 8601 time with its offset, at most"
                f" {minutes} minutes old. A lead without one is refused `422`, naming the field."
            )
            if policy.texts:
                current = policy.texts[-1]
                text += (
                    f" `consent_text` must be the campaign's consent text (version"
                    f" `{current.version}`: “{current.text}”)."
                )
            if step.on_fail is OnFail.REJECT:
                text += (
                    " An older consent, or another text, is `rejected` with `consent_stale` or"
                    " `consent_mismatch`, naming the field in `fields`."
                )
    services = [step for step in campaign.steps if step.kind is StepKind.HTTP]
    rejecting = [step for step in services if step.on_fail is OnFail.REJECT]
    if services:
        names = ", ".join(f"`{step.label}`" for step in services)
        text += f" Each lead is checked with {names} before it is offered to buyers."
    if rejecting:
        text += " One that a check does not verify is `rejected` with `verification_failed`"
        if any(step.on_error is OnError.REJECT for step in services):
            text += "; when a check cannot answer, `verification_unavailable`: send it again"
        text += "."
    return text
