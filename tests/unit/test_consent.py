"""A lead's consent evidence against a campaign's requirements, one case at a time
(``domain.consent``)."""

from __future__ import annotations

import datetime as dt

from pingtree.domain.consent import (
    ConsentPolicy,
    ConsentText,
    Evidence,
    check_consent,
    missing_evidence,
    normalize_text,
)

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
POLICY = ConsentPolicy(
    texts=(
        ConsentText("v1", "Call me.", retired_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
        ConsentText("v2", normalize_text("Call me,\n  text me.")),
    ),
    max_age=dt.timedelta(minutes=30),
    require=frozenset(Evidence),
)
LEAD = {
    "consent_text": "Call me, text me.",
    "consent_at": "2026-12-07T09:50:00-05:00",
    "ip_address": "203.0.113.7",
    "source_url": "https://quotes.example/",
    "jornaya_lead_id": "A" * 36,
}


def test_complete_evidence_passes_with_its_version_and_time_in_utc() -> None:
    assert missing_evidence(POLICY, LEAD) == []
    verdict = check_consent(POLICY, LEAD, NOW)
    assert verdict.passed
    assert verdict.normalized_at == "2026-12-07T14:50:00Z"
    assert verdict.results == {
        "consent.at": "2026-12-07T14:50:00Z",
        "consent.page_url": "https://quotes.example/",
        "consent.certificate": "A" * 36,
        "consent.version": "v2",
        "consent.valid": True,
    }


def test_each_missing_piece_is_named_once_and_a_naive_time_is_malformed() -> None:
    bare = {"consent_at": "2026-12-07T09:50:00"}
    assert missing_evidence(POLICY, bare) == [
        (
            "trusted_form_cert_id",
            "required (or jornaya_lead_id): the campaign requires consent evidence",
        ),
        ("ip_address", "required: the campaign requires consent evidence"),
        ("source_url", "required: the campaign requires consent evidence"),
        ("consent_text", "required: the campaign requires consent evidence"),
        ("consent_at", "an ISO 8601 time with its offset (2026-12-07T15:04:05Z)"),
    ]
    text_only = ConsentPolicy((), dt.timedelta(minutes=5), frozenset({Evidence.TEXT}))
    assert missing_evidence(text_only, {"consent_text": "anything"}) == []
    assert check_consent(text_only, {"consent_text": "anything"}, NOW).passed


def test_old_future_foreign_and_retired_consent_fail_naming_the_field() -> None:
    old = check_consent(POLICY, {**LEAD, "consent_at": "2026-12-07T14:00:00Z"}, NOW)
    assert (old.passed, old.failure, old.field) == (False, "stale", "consent_at")
    assert old.results is not None
    assert old.results["consent.valid"] is False
    # a few minutes ahead is the seller's clock; an hour is not
    assert check_consent(POLICY, {**LEAD, "consent_at": "2026-12-07T15:03:00Z"}, NOW).passed
    ahead = check_consent(POLICY, {**LEAD, "consent_at": "2026-12-07T16:00:00Z"}, NOW)
    assert (ahead.failure, ahead.detail) == ("stale", "consent_at is in the future")
    foreign = check_consent(POLICY, {**LEAD, "consent_text": "Call me, maybe."}, NOW)
    assert (foreign.failure, foreign.field) == ("mismatch", "consent_text")
    retired = check_consent(POLICY, {**LEAD, "consent_text": "Call  me."}, NOW)
    assert (retired.failure, retired.field) == ("stale", "consent_text")
    assert retired.detail == "consent_text is version v1, retired at 2026-12-01T00:00:00Z"
    # given before its retirement, the old version still stands
    before = {**LEAD, "consent_text": "Call me.", "consent_at": "2026-11-30T23:00:00Z"}
    long_ago = ConsentPolicy(POLICY.texts, dt.timedelta(days=30), POLICY.require)
    assert check_consent(long_ago, before, NOW).results == {
        "consent.at": "2026-11-30T23:00:00Z",
        "consent.page_url": "https://quotes.example/",
        "consent.certificate": "A" * 36,
        "consent.version": "v1",
        "consent.valid": True,
    }
