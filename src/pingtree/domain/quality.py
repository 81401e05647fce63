"""The checks of the quality steps before the auction (``domain.quality_steps``), one
value at a time; ``flows.quality`` runs a campaign's steps on a lead.

Each step's results land in the lead under its kind (``phone.valid``, ``phone.line_type``,
``email.valid``, ``suppression.matched``), or an HTTP step's under its name
(``trustedform.verified``, ``fraud.score``), and in its trace; orders filter on them like
on any field (:data:`RESULT_FIELDS`, :func:`step_result_fields`). A phone is read with
``phonenumbers`` (Google's libphonenumber), an email with ``email-validator`` (syntax and
normalization only: no DNS, the tests never touch the network).

Line types are what the numbering plan says. Most North American numbers are
``landline_or_mobile``: the plan does not tell them apart (only a carrier lookup does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import email_validator
import phonenumbers
from phonenumbers import PhoneNumberType

from pingtree.domain.consent import ConsentVerdict
from pingtree.domain.fields import to_json_value
from pingtree.domain.outcomes import Reason
from pingtree.domain.quality_steps import OnFail, QualityStep, ResultKind, StepKind
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue, Vertical

__all__ = [
    "LINE_TYPES",
    "RESULT_FIELDS",
    "StepResult",
    "check_email",
    "check_phone",
    "consent_result",
    "http_result",
    "step_result_fields",
    "suppression_result",
    "with_result_fields",
]

_LINE_TYPE_NAMES: Mapping[int, str] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
#: the values of ``phone.line_type``
LINE_TYPES: tuple[str, ...] = (*dict.fromkeys(_LINE_TYPE_NAMES.values()), "unknown")

#: the step results an order's filter may name, as fields
RESULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("phone.valid", FieldType.BOOLEAN, label="Phone valid"),
    FieldSpec("phone.line_type", FieldType.ENUM, label="Phone line type", values=LINE_TYPES),
    FieldSpec("email.valid", FieldType.BOOLEAN, label="Email valid"),
    FieldSpec("suppression.matched", FieldType.BOOLEAN, label="On a suppression list"),
    FieldSpec("consent.valid", FieldType.BOOLEAN, label="Consent valid"),
    FieldSpec("consent.version", FieldType.STRING, label="Consent text version"),
)


def with_result_fields(vertical: Vertical) -> Vertical:
    """``vertical`` with the step results as fields, for compiling an order's filter."""
    return dataclasses.replace(vertical, fields=(*vertical.fields, *RESULT_FIELDS))


_RESULT_TYPES: Mapping[ResultKind, FieldType] = {
    ResultKind.BOOLEAN: FieldType.BOOLEAN,
    ResultKind.NUMBER: FieldType.DECIMAL,
    ResultKind.TEXT: FieldType.STRING,
}


def step_result_fields(
    steps: Sequence[QualityStep],
) -> tuple[tuple[FieldSpec, ...], list[tuple[str, str]]]:
    """The results of the HTTP steps among ``steps`` as fields an order may filter on,
    each once, and the names two steps give different kinds (``(name, message)``: the
    first kind is kept)."""
    fields: dict[str, FieldSpec] = {}
    clashes: list[tuple[str, str]] = []
    for step in steps:
        for name, kind in step.results:
            spec = FieldSpec(name, _RESULT_TYPES[kind], label=name)
            known = fields.setdefault(name, spec)
            if known.type is not spec.type:
                clashes.append((name, f"a {kind} here, a {known.type} in another step"))
    return tuple(fields.values()), clashes


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step found: its results (non-PII: for the lead and filters), whether the
    lead passed, and what the step does about it."""

    step: QualityStep
    passed: bool
    results: Mapping[str, LeadValue]
    #: why it failed, in words naming the field and the rule, never the value (PII)
    detail: str = ""
    #: the field's value rewritten by the step (a phone in a text field to E.164)
    normalized: LeadValue | None = None
    #: an HTTP step whose service gave no usable answer: its ``on_error`` applies
    error: bool = False
    #: the seller's reason when it is not the step kind's own (a consent step's)
    failure_reason: Reason | None = None
    #: the field at fault when it is not the step's own (a consent step's)
    at_fault: str | None = None

    @property
    def action(self) -> str:
        """``continue``, ``reject`` or ``flag``."""
        if self.error:
            return str(self.step.on_error)
        return "continue" if self.passed else str(self.step.on_fail)

    @property
    def reason(self) -> Reason | None:
        """The seller's reason when the step rejects the lead."""
        if self.error:
            return Reason.VERIFICATION_UNAVAILABLE if self.action == "reject" else None
        if self.passed or self.step.on_fail is not OnFail.REJECT:
            return None
        return self.failure_reason or _REASONS[self.step.kind]

    def to_json(self) -> dict[str, Any]:
        """The step's line of the trace."""
        line: dict[str, Any] = {
            "step": self.step.label,
            "field": self.at_fault or self.step.field,
            "action": self.action,
            "results": {name: to_json_value(value) for name, value in self.results.items()},
        }
        if self.step.kind is StepKind.HTTP:
            line["kind"] = str(self.step.kind)
        if self.error:
            line["error"] = True
        if self.detail:
            line["detail"] = self.detail
        if self.reason is not None:
            line["reason"] = str(self.reason)
        return line


_REASONS: Mapping[StepKind, Reason] = {
    StepKind.PHONE: Reason.PHONE_INVALID,
    StepKind.EMAIL: Reason.EMAIL_INVALID,
    StepKind.SUPPRESSION: Reason.SUPPRESSED,
    StepKind.HTTP: Reason.VERIFICATION_FAILED,
    StepKind.CONSENT: Reason.CONSENT_MISMATCH,
}
_CONSENT_REASONS: Mapping[str, Reason] = {
    "stale": Reason.CONSENT_STALE,
    "mismatch": Reason.CONSENT_MISMATCH,
}


def consent_result(step: QualityStep, verdict: ConsentVerdict) -> StepResult:
    """A consent step's verdict: its evidence as results (``consent.valid``,
    ``consent.version``, ``consent.at``, ``consent.page_url``, ``consent.certificate``:
    none of them PII), ``consent_at`` normalized to UTC."""
    return StepResult(
        step,
        verdict.passed,
        dict(verdict.results or {}),
        verdict.detail,
        normalized=verdict.normalized_at,
        failure_reason=_CONSENT_REASONS.get(verdict.failure),
        at_fault=verdict.field or None,
    )


def http_result(
    step: QualityStep, passed: bool | None, results: Mapping[str, LeadValue], detail: str
) -> StepResult:
    """An HTTP step's verdict: ``passed`` ``True``, ``False`` (the service said no) or
    ``None`` (no usable answer: ``step.on_error`` applies); ``results`` by short name land
    under the step's name (``verified`` → ``trustedform.verified``)."""
    named = {f"{step.label}.{key}": value for key, value in results.items()}
    return StepResult(step, passed is True, named, detail, error=passed is None)


def check_phone(step: QualityStep, value: LeadValue | None) -> StepResult:
    """Parse, validate and type a phone number (read in ``step.region`` when it has no
    ``+`` country code); its E.164 form is the ``normalized`` value."""
    name = step.field or "phone"
    if value is None:
        return _invalid_phone(step, f"{name} is missing")
    try:
        number = phonenumbers.parse(str(value), step.region)
    except phonenumbers.NumberParseException:
        return _invalid_phone(step, f"{name} is not a phone number")
    if not phonenumbers.is_valid_number(number):
        return _invalid_phone(step, f"{name} is not a valid number in its numbering plan")
    line_type = _LINE_TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")
    return StepResult(
        step,
        passed=True,
        results={"phone.valid": True, "phone.line_type": line_type},
        normalized=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
    )


def _invalid_phone(step: QualityStep, detail: str) -> StepResult:
    return StepResult(
        step,
        passed=False,
        results={"phone.valid": False, "phone.line_type": "unknown"},
        detail=detail,
    )


def check_email(step: QualityStep, value: LeadValue | None) -> StepResult:
    """Check an email address's syntax and normalize it (no DNS: deliverability is not
    looked up)."""
    name = step.field or "email"
    if value is None:
        return StepResult(step, False, {"email.valid": False}, f"{name} is missing")
    try:
        checked = email_validator.validate_email(str(value), check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        # the library's words name the rule (quoting at most a character it refused)
        return StepResult(step, False, {"email.valid": False}, f"{name}: {exc}")
    return StepResult(step, True, {"email.valid": True}, normalized=checked.normalized)


def suppression_result(step: QualityStep, matched: Sequence[str]) -> StepResult:
    """A suppression step's verdict from the lists the lead's phone or email is on."""
    if not matched:
        return StepResult(step, True, {"suppression.matched": False})
    return StepResult(
        step,
        passed=False,
        results={"suppression.matched": True},
        detail="on suppression list " + ", ".join(sorted(matched)),
    )
