"""Hostile lead values (issue 12): one spelling per value, digits in ASCII, nothing invisible,
no control codes, every number within what stores it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingtree.domain.fields import (
    FieldValueError,
    Stage,
    canonical_email,
    canonical_phone,
    normalize_value,
    validate_fields,
)
from pingtree.domain.text import TextError, ascii_digits, clean_text, is_blank
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue, Requirement, Vertical

ARABIC_INDIC_PHONE = "٣٠٥٥٥٥٠١٤٢"  # 3055550142
EXTENDED_ARABIC_INDIC_PHONE = "۳۰۵۵۵۵۰۱۴۲"  # Persian digits
FULLWIDTH_PHONE = "（３０５）５５５－０１４２"
ZWSP, RLO, LRM, BOM, ZWJ = "\u200b", "\u202e", "\u200e", "\ufeff", "\u200d"


def of(type_: FieldType, **kw: object) -> FieldSpec:
    return FieldSpec("f", type_, **kw)  # type: ignore[arg-type]


def refused(field: FieldSpec, raw: object) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        normalize_value(field, raw)
    assert info.value.msg
    return info.value


# --- text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ana", "Ana"),
        (f"A{ZWSP}na", "Ana"),
        (f"{RLO}anA", "anA"),
        (f"{BOM}Ana{LRM}", "Ana"),
        ("Ｏ’Ｂｒｉｅｎ", "O’Brien"),  # fullwidth letters fold, the apostrophe stays
        ("ﬁsh", "fish"),
        ("\u00a0Zoë\u3000", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # decomposed: composed by NFKC
        (f"Zoe{ZWSP}\u0308", "Zoë"),  # the invisible character does not block composing
        ("line one\nline two\tand a tab", "line one\nline two\tand a tab"),
        (f"{ZWSP} ", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    assert clean_text(clean) == clean


@pytest.mark.parametrize(
    ("raw", "code_point"),
    [
        ("An\x00a", "U+0000"),
        ("An\x07a", "U+0007"),
        ("An\x1ba", "U+001B"),
        ("An\x7fa", "U+007F"),
        ("Zoë\x85", "U+0085"),  # a C1 control, in non-ASCII text
        ("Zoë\x9b", "U+009B"),
    ],
)
def test_control_characters_are_refused_by_name(raw: str, code_point: str) -> None:
    with pytest.raises(TextError) as info:
        clean_text(raw)
    assert info.value.type == "invalid_characters"
    assert code_point in info.value.msg


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(TextError, match=r"U\+D800"):
        clean_text("Ana\ud800")


def test_blank_means_whitespace_and_format_characters_only() -> None:
    assert is_blank(f" {ZWSP}{BOM}\t")
    assert not is_blank(f"{ZWSP}a")


def test_ascii_digits() -> None:
    assert ascii_digits(ARABIC_INDIC_PHONE) == "3055550142"
    assert ascii_digits(EXTENDED_ARABIC_INDIC_PHONE) == "3055550142"
    assert ascii_digits("३३१०१") == "33101"  # Devanagari
    assert ascii_digits("a٣b") == "a3b"


# --- the consumer's identity ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "ana@example.com",
        "Ana@Example.COM",
        f"ana{ZWSP}@example.com",
        f"{RLO}ana@example.com",
        f"ana@exa{ZWJ}mple.com{BOM}",
        f"a{LRM}na@example.com",
        "ａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    ],
)
def test_one_person_has_one_canonical_email(raw: str) -> None:
    assert canonical_email(raw) == "ana@example.com"
    assert normalize_value(of(FieldType.EMAIL), raw) == "ana@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        ARABIC_INDIC_PHONE,
        EXTENDED_ARABIC_INDIC_PHONE,
        FULLWIDTH_PHONE,
        "+١ (٣٠٥) ٥٥٥-٠١٤٢",
        f"305{ZWSP}555{RLO}0142",
        "(305) 555-0142",
    ],
)
def test_one_phone_number_has_one_canonical_form_in_ascii(raw: str) -> None:
    assert canonical_phone(raw) == "3055550142"
    assert normalize_value(of(FieldType.PHONE), raw) == "3055550142"


@pytest.mark.parametrize(
    ("function", "raw", "error_type"),
    [
        (canonical_email, "ana\x00@example.com", "invalid_characters"),
        (canonical_email, "ana\x1b@example.com", "invalid_characters"),
        (canonical_email, "ana\n@example.com", "invalid_email"),
        (canonical_email, "ana@exämple.com", "invalid_email"),
        (canonical_email, "a" * 250 + "@example.com", "too_long"),
        (canonical_phone, "305555\x000142", "invalid_characters"),
        (canonical_phone, "٣٠٥٥٥٥٠١٤", "invalid_phone"),
        (canonical_phone, "३०५५५५०१४२x", "invalid_phone"),
    ],
)
def test_canonical_forms_refuse_what_is_no_address(
    function: object, raw: str, error_type: str
) -> None:
    assert callable(function)
    with pytest.raises(FieldValueError) as info:
        function(raw)
    assert info.value.type == error_type


# --- per type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (of(FieldType.ZIP), "٣٣١٠١", "33101"),
        (of(FieldType.ZIP), "３３１０１－１２３４", "33101"),
        (of(FieldType.ZIP), f"331{ZWSP}01", "33101"),
        (of(FieldType.INTEGER), "٤٢", 42),
        (of(FieldType.INTEGER), "４２", 42),
        (of(FieldType.DECIMAL), "١٢.٥٠", Decimal("12.50")),
        (of(FieldType.DATE), "١٩٩٠-٠٣-٠١", dt.date(1990, 3, 1)),
        (of(FieldType.DATE), "1900-01-01", dt.date(1900, 1, 1)),
        (of(FieldType.DATE), "12/31/2199", dt.date(2199, 12, 31)),
        (of(FieldType.STRING), f"Ana{ZWSP}{RLO}", "Ana"),
        (of(FieldType.STRING), "consent\r\ngiven", "consent\r\ngiven"),
        (of(FieldType.STATE), f"F{ZWSP}L", "FL"),
        (of(FieldType.STATE), "ｆｌｏｒｉｄａ", "FL"),
        (of(FieldType.BOOLEAN), "ｙｅｓ", True),
        (of(FieldType.URL), f"https://example.com/{ZWSP}", "https://example.com/"),
        (of(FieldType.DECIMAL), 12.5, Decimal("12.5")),
        (of(FieldType.DECIMAL), 123456789012345.0, Decimal("123456789012345.0")),
        (of(FieldType.INTEGER), 2.0**53, 2**53),
    ],
)
def test_hostile_spellings_normalize_to_ascii(
    field: FieldSpec, raw: object, expected: LeadValue
) -> None:
    value = normalize_value(field, raw)
    assert value == expected
    assert type(value) is type(expected)
    assert normalize_value(field, value) == value
    if isinstance(value, str):
        assert value.isascii() or field.type is FieldType.STRING


@pytest.mark.parametrize(
    ("field", "raw", "error_type"),
    [
        (of(FieldType.STRING), "Ana\x00", "invalid_characters"),
        (of(FieldType.STRING), "A\x01na", "invalid_characters"),
        (of(FieldType.STRING), "A\x08na", "invalid_characters"),
        (of(FieldType.STRING), "Ana\x1b[31m", "invalid_characters"),
        (of(FieldType.STRING), "Zoë\x9b", "invalid_characters"),
        (of(FieldType.STRING, max_length=3), f"Ana{ZWSP}s", "too_long"),
        (of(FieldType.ZIP), "٣٣١٠", "invalid_zip"),
        (of(FieldType.ZIP), "3310\x001", "invalid_characters"),
        (of(FieldType.PHONE), "305555014\x07", "invalid_characters"),
        (of(FieldType.INTEGER), "1" * 20, "integer_out_of_range"),
        (of(FieldType.INTEGER), "١" * 20, "integer_out_of_range"),
        (of(FieldType.INTEGER), 12345678901234567890, "integer_out_of_range"),
        (of(FieldType.INTEGER), 2.0**53 + 2, "invalid_integer"),
        (of(FieldType.DECIMAL), "9" * 31, "invalid_decimal"),
        (of(FieldType.DECIMAL), "0." + "1" * 31, "invalid_decimal"),
        (of(FieldType.DECIMAL), 1.2345678901234568e29, "invalid_decimal"),
        (of(FieldType.DECIMAL), 0.30000000000000004, "invalid_decimal"),
        (of(FieldType.DECIMAL), Decimal("1e40"), "invalid_decimal"),
        (of(FieldType.DATE), "0019-05-04", "date_out_of_range"),
        (of(FieldType.DATE), "9999-12-31", "date_out_of_range"),
        (of(FieldType.DATE), dt.date(1, 1, 1), "date_out_of_range"),
        (of(FieldType.EMAIL), "ana\x00@example.com", "invalid_characters"),
        (of(FieldType.URL), "https://exa\x00mple.com/", "invalid_characters"),
    ],
)
def test_hostile_values_are_refused_with_a_reason(
    field: FieldSpec, raw: object, error_type: str
) -> None:
    assert refused(field, raw).type == error_type


def test_a_value_of_invisible_characters_only_is_missing() -> None:
    name = FieldSpec("first_name", FieldType.STRING, pii=True, post=Requirement.REQUIRED)
    vertical = Vertical("v", "V", (name,))
    result = validate_fields(vertical, {"first_name": f"{ZWSP}{BOM} "}, Stage.POST)
    assert [(e.loc, e.type) for e in result.errors] == [
        (("body", "fields", "first_name"), "missing")
    ]


def test_a_phone_hidden_in_a_ping_string_behind_zero_width_spaces_is_pii() -> None:
    note = FieldSpec("note", FieldType.STRING)
    vertical = Vertical("v", "V", (note,))
    result = validate_fields(vertical, {"note": f"305{ZWSP}555{ZWSP}0142"}, Stage.PING)
    assert result.pii_in_ping == ("note",)
    assert result.values == {}


def test_field_errors_name_the_field_and_keep_pii_out() -> None:
    vertical = Vertical(
        "v",
        "V",
        (
            FieldSpec("first_name", FieldType.STRING, pii=True),
            FieldSpec("sub_id", FieldType.STRING),
        ),
    )
    result = validate_fields(vertical, {"first_name": "Ana\x00", "sub_id": "x\x07"}, Stage.POST)
    assert [(e.loc, e.type, e.input) for e in result.errors] == [
        (("body", "fields", "first_name"), "invalid_characters", None),
        (("body", "fields", "sub_id"), "invalid_characters", "x\x07"),
    ]


@given(st.text(max_size=60))
def test_every_accepted_string_is_clean_and_stays_so(raw: str) -> None:
    try:
        value = normalize_value(of(FieldType.STRING), raw)
    except FieldValueError as error:
        refusal = error.type
    else:
        refusal = ""
    if refusal:
        assert refusal == "invalid_characters"
        return
    assert isinstance(value, str)
    assert normalize_value(of(FieldType.STRING), value) == value
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in value)
    assert not any(c in value for c in (ZWSP, RLO, LRM, BOM, ZWJ))


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=5, max_size=5))
def test_any_script_s_five_digits_are_an_ascii_zip(raw: str) -> None:
    value = normalize_value(of(FieldType.ZIP), raw)
    assert isinstance(value, str)
    assert value.isascii()
    assert value.isdigit()
    assert len(value) == 5
