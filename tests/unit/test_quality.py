"""The quality steps' checks one value at a time, their configuration's checks, and a
suppression CSV read into HMACs (``domain.quality``, ``config.quality``,
``store.suppression``)."""

from __future__ import annotations

import pytest

from pingtree.config.quality import compile_steps
from pingtree.config.vertical_spec import QualityStepSpec
from pingtree.domain.fields import with_tracking_fields
from pingtree.domain.outcomes import Reason
from pingtree.domain.quality import check_email, check_phone, suppression_result
from pingtree.domain.quality_steps import OnFail, QualityStep, StepKind
from pingtree.domain.verticals import FieldSpec, FieldType, Vertical
from pingtree.store.lead_fields import dedup_keys, value_key
from pingtree.store.secrets import PiiVault
from pingtree.store.suppression import suppression_keys

PHONE = QualityStep(StepKind.PHONE, "phone")
EMAIL = QualityStep(StepKind.EMAIL, "email")
VAULT = PiiVault(b"q" * 32)


@pytest.mark.parametrize(
    ("number", "region", "line_type", "e164"),
    [
        ("3055550142", "US", "landline_or_mobile", "+13055550142"),  # NANP: not told apart
        ("8005551234", "US", "toll_free", "+18005551234"),
        ("07911 123456", "GB", "mobile", "+447911123456"),
        ("020 7183 8750", "GB", "landline", "+442071838750"),
        ("+44 56 0123 4567", "US", "voip", "+445601234567"),  # its own country code wins
    ],
)
def test_a_phone_is_validated_typed_and_normalized(
    number: str, region: str, line_type: str, e164: str
) -> None:
    result = check_phone(QualityStep(StepKind.PHONE, "phone", region=region), number)
    assert result.passed
    assert result.action == "continue"
    assert result.reason is None
    assert result.results == {"phone.valid": True, "phone.line_type": line_type}
    assert result.normalized == e164


@pytest.mark.parametrize("number", ["9995550142", "12", "call me", None])
def test_an_invalid_phone_fails_with_words_not_its_value(number: str | None) -> None:
    result = check_phone(PHONE, number)
    assert not result.passed
    assert result.reason is Reason.PHONE_INVALID
    assert result.results == {"phone.valid": False, "phone.line_type": "unknown"}
    assert result.detail.startswith("phone ")
    assert number is None or number not in result.detail
    assert result.to_json()["reason"] == "phone_invalid"


def test_a_flagging_step_fails_without_rejecting() -> None:
    flagging = QualityStep(StepKind.PHONE, "phone", on_fail=OnFail.FLAG)
    result = check_phone(flagging, "9995550142")
    assert result.action == "flag"
    assert result.reason is None
    assert "reason" not in result.to_json()


def test_an_email_is_checked_and_normalized_without_the_network() -> None:
    good = check_email(EMAIL, "Ana@Example.COM")
    assert good.passed
    assert good.results == {"email.valid": True}
    assert good.normalized == "Ana@example.com"
    for bad in ("ana@example.invalid", "ana@@example.com", "ana@localhost", None):
        result = check_email(EMAIL, bad)
        assert result.reason is Reason.EMAIL_INVALID
        assert result.results == {"email.valid": False}


def test_a_suppression_match_names_its_lists() -> None:
    step = QualityStep(StepKind.SUPPRESSION, None, lists=("dnc", "litigators"))
    assert suppression_result(step, []).results == {"suppression.matched": False}
    hit = suppression_result(step, ["litigators", "dnc"])
    assert hit.reason is Reason.SUPPRESSED
    assert hit.detail == "on suppression list dnc, litigators"


FIELDS = with_tracking_fields(
    (
        FieldSpec("phone", FieldType.PHONE, pii=True),
        FieldSpec("email", FieldType.EMAIL, pii=True),
        FieldSpec("age", FieldType.INTEGER),
    )
)


def test_steps_compile_with_their_defaults() -> None:
    steps, issues = compile_steps(
        [
            QualityStepSpec(type=StepKind.PHONE),
            QualityStepSpec(type=StepKind.EMAIL, on_fail=OnFail.FLAG),
            QualityStepSpec(type=StepKind.SUPPRESSION, lists=["dnc"]),
        ],
        FIELDS,
        "s",
    )
    assert issues == []
    assert steps == (
        QualityStep(StepKind.PHONE, "phone"),
        QualityStep(StepKind.EMAIL, "email", OnFail.FLAG),
        QualityStep(StepKind.SUPPRESSION, None, lists=("dnc",)),
    )


def test_step_config_errors_name_their_path() -> None:
    _, issues = compile_steps(
        [
            QualityStepSpec(type=StepKind.PHONE, field="age"),
            QualityStepSpec(type=StepKind.EMAIL, field="fax"),
            QualityStepSpec(type=StepKind.SUPPRESSION),
            QualityStepSpec(type=StepKind.PHONE),
        ],
        FIELDS,
        "s",
    )
    assert [path for path, _, _ in issues] == [
        "s[0].field",
        "s[1].field",
        "s[2].lists",
        "s[3].type",
    ]


def test_a_suppression_csv_becomes_the_leads_dedup_keys() -> None:
    upload = suppression_keys(
        "phone,email\n(305) 555-0142,ANA@example.com\n,\nnobody,here\n+1 212-555-0199\n", VAULT
    )
    assert upload.bad_lines == (4,)
    lead = dedup_keys(FIELDS_VERTICAL, {"phone": "3055550142", "email": "ana@example.com"}, VAULT)
    # the lead's keys of its values (beside them, the keys of their sellers' hashes)
    values = {
        value_key(FieldType.PHONE, "3055550142", VAULT),
        value_key(FieldType.EMAIL, "ana@example.com", VAULT),
    }
    assert values <= set(lead)
    assert values <= upload.keys
    assert len(upload.keys) == 3
    assert not any("555" in key or "@" in key for key in upload.keys)  # HMACs only


FIELDS_VERTICAL = Vertical("v", "v", FIELDS)


def test_a_csv_the_csv_module_cannot_read_names_its_line() -> None:
    with pytest.raises(ValueError, match="line 2: not CSV"):
        suppression_keys("3055550142\n" + "x" * 200_000 + "\n", VAULT)
    # NUL characters are dropped, not fatal
    assert len(suppression_keys("305555\x000142\n", VAULT).keys) == 1
