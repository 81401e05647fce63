"""Consent as evidence (DESIGN §9): what a campaign may require of a lead's consent, and
the check of a lead's evidence against it (pure; ``flows.quality`` runs it first among
the campaign's steps).

The evidence is carried in the tracking fields every vertical inherits
(:data:`EVIDENCE_FIELDS`): the consent text shown, its time, the consumer's IP, the page's
URL and a certificate id (TrustedForm or Jornaya). A campaign names which it requires;
one missing or malformed is bad input (a 4xx naming the field, before anything is
stored). A consent older than the campaign allows, given in the future, or under a text
that is not one of the campaign's versions (or a version retired before it was given)
is refused with a reason (``consent_stale``, ``consent_mismatch``) and the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CLOCK_SKEW",
    "EVIDENCE_FIELDS",
    "ConsentPolicy",
    "ConsentText",
    "ConsentVerdict",
    "Evidence",
    "check_consent",
    "missing_evidence",
    "normalize_text",
]

#: a consent time this far ahead of ours is the seller's clock, not the future
CLOCK_SKEW = dt.timedelta(minutes=5)


class Evidence(StrEnum):
    TEXT = "text"
    TIME = "time"
    IP = "ip"
    PAGE_URL = "page_url"
    CERTIFICATE = "certificate"


#: the lead fields each piece of evidence is read from (a certificate: either id)
EVIDENCE_FIELDS: Mapping[Evidence, tuple[str, ...]] = {
    Evidence.TEXT: ("consent_text",),
    Evidence.TIME: ("consent_at",),
    Evidence.IP: ("ip_address",),
    Evidence.PAGE_URL: ("source_url",),
    Evidence.CERTIFICATE: ("trusted_form_cert_id", "jornaya_lead_id"),
}


@dataclass(frozen=True, slots=True)
class ConsentText:
    """One version of a campaign's consent language."""

    version: str
    #: as :func:`normalize_text` writes it
    text: str
    #: a consent given under this text after this instant is stale (UTC)
    retired_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """What a campaign requires of a lead's consent."""

    #: the versions of its consent text, the current one last; empty: any text
    texts: tuple[ConsentText, ...]
    #: how old a consent may be when the lead arrives
    max_age: dt.timedelta
    require: frozenset[Evidence]


@dataclass(frozen=True, slots=True)
class ConsentVerdict:
    passed: bool
    #: ``stale`` or ``mismatch`` when not passed
    failure: str = ""
    #: the field at fault, when not passed
    field: str = ""
    #: in words naming the field and the rule, never a value the consumer typed
    detail: str = ""
    #: for the lead and its trace: ``consent.valid``, ``consent.version``, ``consent.at``…
    results: Mapping[str, str | bool] | None = None
    #: ``consent_at`` as ISO 8601 in UTC (``2026-12-07T15:04:05Z``), when read
    normalized_at: str | None = None


def normalize_text(text: str) -> str:
    """A consent text as compared: runs of white space as one space, trimmed (a form or a
    seller's system may rewrap it; the words are what the consumer read)."""
    return " ".join(text.split())


def missing_evidence(policy: ConsentPolicy, values: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(field, message)`` for each required piece of evidence that is absent, or (the
    time) not an ISO 8601 time with its offset: bad input."""
    problems: list[tuple[str, str]] = []
    for evidence in sorted(policy.require):
        names = EVIDENCE_FIELDS[evidence]
        if not any(values.get(name) not in (None, "") for name in names):
            also = f" (or {' or '.join(names[1:])})" if len(names) > 1 else ""
            problems.append((names[0], f"required{also}: the campaign requires consent evidence"))
    raw = values.get("consent_at")
    if raw not in (None, "") and _parse_time(str(raw)) is None:
        problems.append(("consent_at", "an ISO 8601 time with its offset (2026-12-07T15:04:05Z)"))
    return problems


def check_consent(
    policy: ConsentPolicy, values: Mapping[str, object], now: dt.datetime
) -> ConsentVerdict:
    """The lead's consent against ``policy`` at ``now`` (UTC); call
    :func:`missing_evidence` first (a malformed time reads as absent here)."""
    results: dict[str, str | bool] = {}
    raw_at = values.get("consent_at")
    at = _parse_time(str(raw_at)) if raw_at not in (None, "") else None
    normalized_at = None if at is None else at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if normalized_at is not None:
        results["consent.at"] = normalized_at
    for name, key in (("source_url", "page_url"), ("trusted_form_cert_id", "certificate")):
        value = values.get(name)
        if value not in (None, ""):
            results[f"consent.{key}"] = str(value)
    if "consent.certificate" not in results and values.get("jornaya_lead_id") not in (None, ""):
        results["consent.certificate"] = str(values["jornaya_lead_id"])

    def fail(failure: str, field: str, detail: str) -> ConsentVerdict:
        return ConsentVerdict(
            False, failure, field, detail, {**results, "consent.valid": False}, normalized_at
        )

    version = None
    text = values.get("consent_text")
    if policy.texts and text not in (None, ""):
        shown = normalize_text(str(text))
        version = next((v for v in reversed(policy.texts) if v.text == shown), None)
        if version is None:
            return fail("mismatch", "consent_text", "consent_text is none of the campaign's")
        results["consent.version"] = version.version
    if at is not None:
        if at - now > CLOCK_SKEW:
            return fail("stale", "consent_at", "consent_at is in the future")
        if now - at > policy.max_age:
            minutes = int(policy.max_age.total_seconds() // 60)
            return fail("stale", "consent_at", f"consent_at is older than {minutes} minutes")
        if version is not None and version.retired_at is not None and at >= version.retired_at:
            retired = version.retired_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            detail = f"consent_text is version {version.version}, retired at {retired}"
            return fail("stale", "consent_text", detail)
    return ConsentVerdict(
        True, results={**results, "consent.valid": True}, normalized_at=normalized_at
    )


def _parse_time(text: str) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at.astimezone(dt.UTC)
