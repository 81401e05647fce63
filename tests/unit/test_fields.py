"""Field schemas: normalizers, request validation, JSON form, ping/post comparison."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingtree.domain.fields import (
    TRACKING_FIELDS,
    FieldError,
    FieldValueError,
    Stage,
    mismatched_fields,
    normalize_value,
    pii_field_names,
    to_json_value,
    validate_fields,
    values_from_json,
    values_to_json,
    with_tracking_fields,
)
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue, Requirement, Vertical

REQ = Requirement.REQUIRED

AUTO = Vertical(
    id="auto_insurance",
    name="Auto insurance",
    fields=with_tracking_fields(
        (
            FieldSpec("state", FieldType.STATE, ping=REQ, post=REQ),
            FieldSpec("zip", FieldType.ZIP, ping=REQ, post=REQ),
            FieldSpec("age", FieldType.INTEGER, min=Decimal(16), max=Decimal(120)),
            FieldSpec("credit", FieldType.ENUM, values=("Excellent", "Good", "Fair", "Poor")),
            FieldSpec("insured", FieldType.BOOLEAN),
            FieldSpec("dob", FieldType.DATE),
            FieldSpec("premium", FieldType.DECIMAL, min=Decimal("0.00")),
            FieldSpec("comments", FieldType.STRING, max_length=20),
            FieldSpec("phone", FieldType.PHONE, pii=True, post=REQ),
            FieldSpec("email", FieldType.EMAIL, pii=True, post=REQ),
            FieldSpec("first_name", FieldType.STRING, pii=True, post=REQ),
        )
    ),
)


def spec(name: str) -> FieldSpec:
    found = AUTO.field(name)
    assert found is not None
    return found


def of(type_: FieldType, **kw: object) -> FieldSpec:
    return FieldSpec("f", type_, **kw)  # type: ignore[arg-type]


def rejects(field: FieldSpec, raw: object) -> str:
    with pytest.raises(FieldValueError) as info:
        normalize_value(field, raw)
    assert info.value.msg
    assert str(info.value) == info.value.msg
    return info.value.type


# --- normalize_value, type by type ---------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (of(FieldType.STRING), "  hello ", "hello"),
        (of(FieldType.STRING), 12345, "12345"),
        (of(FieldType.INTEGER), "42", 42),
        (of(FieldType.INTEGER), " -7 ", -7),
        (of(FieldType.INTEGER), 42, 42),
        (of(FieldType.INTEGER), 42.0, 42),
        (of(FieldType.DECIMAL), "12.50", Decimal("12.50")),
        (of(FieldType.DECIMAL), ".5", Decimal("0.5")),
        (of(FieldType.DECIMAL), 0.1, Decimal("0.1")),
        (of(FieldType.DECIMAL), 3, Decimal(3)),
        (of(FieldType.BOOLEAN), "true", True),
        (of(FieldType.BOOLEAN), "Yes", True),
        (of(FieldType.BOOLEAN), "y", True),
        (of(FieldType.BOOLEAN), "1", True),
        (of(FieldType.BOOLEAN), 1, True),
        (of(FieldType.BOOLEAN), True, True),
        (of(FieldType.BOOLEAN), "false", False),
        (of(FieldType.BOOLEAN), "NO", False),
        (of(FieldType.BOOLEAN), "n", False),
        (of(FieldType.BOOLEAN), "0", False),
        (of(FieldType.BOOLEAN), 0, False),
        (of(FieldType.DATE), "1980-02-29", dt.date(1980, 2, 29)),
        (of(FieldType.DATE), "02/29/1980", dt.date(1980, 2, 29)),
        (of(FieldType.DATE), "2/9/1980", dt.date(1980, 2, 9)),
        (of(FieldType.DATE), dt.date(1980, 1, 1), dt.date(1980, 1, 1)),
        (spec("credit"), " good ", "Good"),
        (spec("credit"), "EXCELLENT", "Excellent"),
        (of(FieldType.EMAIL), "  John.Doe@Example.COM ", "john.doe@example.com"),
        (of(FieldType.EMAIL), "a+tag@mail.example.co.uk", "a+tag@mail.example.co.uk"),
        (of(FieldType.PHONE), "(305) 555-1234", "3055551234"),
        (of(FieldType.PHONE), "+1 305.555.1234", "3055551234"),
        (of(FieldType.PHONE), "13055551234", "3055551234"),
        (of(FieldType.PHONE), 3055551234, "3055551234"),
        (of(FieldType.ZIP), "33101", "33101"),
        (of(FieldType.ZIP), "33101-1234", "33101"),
        (of(FieldType.ZIP), 33101, "33101"),
        (of(FieldType.STATE), "fl", "FL"),
        (of(FieldType.STATE), "florida", "FL"),
        (of(FieldType.STATE), " New   York ", "NY"),
        (of(FieldType.STATE), "district of columbia", "DC"),
        (of(FieldType.STATE), "PR", "PR"),
        (of(FieldType.IP), " 203.0.113.7 ", "203.0.113.7"),
        (of(FieldType.IP), "2001:DB8:0:0::1", "2001:db8::1"),
        (of(FieldType.URL), " https://example.com/a?b=c ", "https://example.com/a?b=c"),
        (of(FieldType.URL), "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
    ],
)
def test_normalize_value_accepts(field: FieldSpec, raw: object, expected: LeadValue) -> None:
    value = normalize_value(field, raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("field", "raw", "error_type"),
    [
        (of(FieldType.STRING, max_length=5), "toolong", "too_long"),
        (of(FieldType.STRING), ["a"], "string_type"),
        (of(FieldType.STRING), True, "string_type"),
        (of(FieldType.INTEGER), "42.0", "invalid_integer"),
        (of(FieldType.INTEGER), 42.5, "invalid_integer"),
        (of(FieldType.INTEGER), True, "invalid_integer"),
        (of(FieldType.INTEGER), "4e2", "invalid_integer"),
        (of(FieldType.INTEGER), "9" * 5000, "invalid_integer"),
        (of(FieldType.INTEGER), float("nan"), "invalid_integer"),
        (of(FieldType.INTEGER, min=Decimal(16)), "15", "too_small"),
        (of(FieldType.INTEGER, max=Decimal(120)), 121, "too_large"),
        (of(FieldType.INTEGER), "1" * 20, "integer_out_of_range"),
        (of(FieldType.INTEGER), 2**63, "integer_out_of_range"),
        (of(FieldType.INTEGER), -(2**63) - 1, "integer_out_of_range"),
        (of(FieldType.INTEGER), 1e20, "integer_out_of_range"),
        (of(FieldType.STRING), "a\x00b", "invalid_characters"),
        (of(FieldType.EMAIL), "jo\x00hn@example.com", "invalid_characters"),
        (of(FieldType.DECIMAL), "NaN", "invalid_decimal"),
        (of(FieldType.DECIMAL), "Infinity", "invalid_decimal"),
        (of(FieldType.DECIMAL), "1e5", "invalid_decimal"),
        (of(FieldType.DECIMAL), float("inf"), "invalid_decimal"),
        (of(FieldType.DECIMAL), Decimal("NaN"), "invalid_decimal"),
        (of(FieldType.DECIMAL), "$12", "invalid_decimal"),
        (of(FieldType.DECIMAL), 1e31, "invalid_decimal"),
        (of(FieldType.DECIMAL), 1e-31, "invalid_decimal"),
        (of(FieldType.DECIMAL), "1" * 31, "invalid_decimal"),
        (of(FieldType.DECIMAL), False, "invalid_decimal"),
        (of(FieldType.DECIMAL, min=Decimal(0)), "-0.01", "too_small"),
        (of(FieldType.DECIMAL, max=Decimal(100)), "100.01", "too_large"),
        (of(FieldType.BOOLEAN), "maybe", "invalid_boolean"),
        (of(FieldType.BOOLEAN), 2, "invalid_boolean"),
        (of(FieldType.DATE), "1980-02-30", "invalid_date"),
        (of(FieldType.DATE), "29/02/1980", "invalid_date"),
        (of(FieldType.DATE), "19800229", "invalid_date"),
        (of(FieldType.DATE), dt.datetime(1980, 1, 1, tzinfo=dt.UTC), "invalid_date"),
        (spec("credit"), "Great", "invalid_enum"),
        (of(FieldType.EMAIL), "john", "invalid_email"),
        (of(FieldType.EMAIL), "john@localhost", "invalid_email"),
        (of(FieldType.EMAIL), "a@b@example.com", "invalid_email"),
        (of(FieldType.EMAIL), "jo hn@example.com", "invalid_email"),
        (of(FieldType.EMAIL), "john@example..com", "invalid_email"),
        (of(FieldType.EMAIL, max_length=10), "john@example.com", "too_long"),
        (of(FieldType.PHONE), "305555123", "invalid_phone"),
        (of(FieldType.PHONE), "23055551234", "invalid_phone"),
        (of(FieldType.PHONE), "0305551234", "invalid_phone"),
        (of(FieldType.PHONE), "3051551234", "invalid_phone"),
        (of(FieldType.PHONE), "305-CALL-NOW", "invalid_phone"),
        (of(FieldType.ZIP), "3310", "invalid_zip"),
        (of(FieldType.ZIP), "331011", "invalid_zip"),
        (of(FieldType.ZIP), "33101-12", "invalid_zip"),
        (of(FieldType.STATE), "ZZ", "invalid_state"),
        (of(FieldType.STATE), "Ontario", "invalid_state"),
        (of(FieldType.IP), "256.1.1.1", "invalid_ip"),
        (of(FieldType.URL), "ftp://example.com/", "invalid_url"),
        (of(FieldType.URL), "https://", "invalid_url"),
        (of(FieldType.URL), "example.com", "invalid_url"),
        (of(FieldType.URL), "https://exa mple.com", "invalid_url"),
        (of(FieldType.URL), "http://[::1/", "invalid_url"),
        (of(FieldType.URL, max_length=20), "https://example.com/long/path", "too_long"),
    ],
)
def test_normalize_value_rejects(field: FieldSpec, raw: object, error_type: str) -> None:
    assert rejects(field, raw) == error_type


def test_phone_error_message_is_for_humans() -> None:
    with pytest.raises(FieldValueError) as info:
        normalize_value(of(FieldType.PHONE), "12")
    assert info.value.type == "invalid_phone"
    assert info.value.msg == "must be a 10-digit US phone number"


# --- properties ----------------------------------------------------------------------

_nanp_head = st.integers(200, 999).map(str)
_line = st.integers(0, 9999).map(lambda n: f"{n:04d}")


@given(
    area=_nanp_head,
    exchange=_nanp_head,
    line=_line,
    layout=st.sampled_from(
        [
            "{a}{e}{l}",
            "1{a}{e}{l}",
            "({a}) {e}-{l}",
            "{a}-{e}-{l}",
            "{a}.{e}.{l}",
            "+1 ({a}) {e}-{l}",
            "1-{a}-{e}-{l}",
            " +1 {a} {e} {l} ",
        ]
    ),
)
def test_formatted_phone_variants_normalize_to_ten_digits(
    area: str, exchange: str, line: str, layout: str
) -> None:
    raw = layout.format(a=area, e=exchange, l=line)
    assert normalize_value(of(FieldType.PHONE), raw) == area + exchange + line


_SPECS_AND_VALUES = st.one_of(
    st.tuples(st.just(of(FieldType.STRING)), st.text(max_size=300)),
    st.tuples(st.just(of(FieldType.INTEGER)), st.integers() | st.integers().map(str)),
    st.tuples(
        st.just(of(FieldType.DECIMAL)),
        st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str)
        | st.floats(allow_nan=False, allow_infinity=False),
    ),
    st.tuples(st.just(of(FieldType.BOOLEAN)), st.sampled_from(["y", "N", "true", 0, 1, False])),
    st.tuples(
        st.just(of(FieldType.DATE)),
        st.dates().map(lambda d: d.isoformat()) | st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    ),
    st.tuples(st.just(spec("credit")), st.sampled_from(["excellent", " FAIR", "Poor "])),
    st.tuples(st.just(of(FieldType.EMAIL)), st.emails()),
    st.tuples(st.just(of(FieldType.ZIP)), st.from_regex(r"\d{5}(-\d{4})?", fullmatch=True)),
    st.tuples(st.just(of(FieldType.STATE)), st.sampled_from(["ca", "Texas", "dc", " pr "])),
    st.tuples(st.just(of(FieldType.IP)), st.ip_addresses().map(str)),
    st.tuples(st.just(of(FieldType.URL)), st.sampled_from(["HTTPS://x.io", "http://a.b/c?d"])),
)


@given(_SPECS_AND_VALUES)
def test_normalize_value_is_idempotent(case: tuple[FieldSpec, object]) -> None:
    field, raw = case
    try:
        once = normalize_value(field, raw)
    except FieldValueError:
        return  # hypothesis may produce values the field refuses (too long, years < 1000)
    assert normalize_value(field, once) == once
    # and the JSON form reads back to the same value
    assert normalize_value(field, to_json_value(once)) == once


@given(st.decimals(min_value=-(10**29), max_value=10**29, allow_nan=False, places=12))
def test_decimal_json_form_has_no_exponent(number: Decimal) -> None:
    text = to_json_value(normalize_value(of(FieldType.DECIMAL), number))
    assert isinstance(text, str)
    assert "e" not in text.lower()
    assert Decimal(text) == number


def test_integers_fit_in_64_bits_as_every_store_keeps_them() -> None:
    # the JSON encoder of both databases refuses anything wider (issue 11: the ping writer
    # retried such a batch forever)
    field = of(FieldType.INTEGER)
    assert normalize_value(field, str(2**63 - 1)) == 2**63 - 1
    assert normalize_value(field, -(2**63)) == -(2**63)
    problem = validate_fields(
        Vertical("v", "V", (field,)), {field.name: "12345678901234567890"}, Stage.PING
    ).errors
    assert [(e.loc, e.type, e.input) for e in problem] == [
        (("body", "fields", field.name), "integer_out_of_range", "12345678901234567890")
    ]


def test_integer_refuses_fractional_text_but_takes_whole_floats() -> None:
    assert normalize_value(of(FieldType.INTEGER), 1e3) == 1000
    assert rejects(of(FieldType.INTEGER), "1000.0") == "invalid_integer"


# --- tracking fields -----------------------------------------------------------------


def test_every_vertical_inherits_the_tracking_fields_after_its_own() -> None:
    names = [f.name for f in AUTO.fields]
    assert names[:3] == ["state", "zip", "age"]
    assert names[-len(TRACKING_FIELDS) :] == [f.name for f in TRACKING_FIELDS]
    assert {
        "sub_id",
        "sub_id2",
        "sub_id3",
        "click_id",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "source_url",
        "user_agent",
        "ip_address",
        "consent_text",
        "consent_at",
        "trusted_form_cert_id",
        "jornaya_lead_id",
        "lead_ref",
    } == {f.name for f in TRACKING_FIELDS}
    assert all(
        f.ping is Requirement.OPTIONAL and f.post is Requirement.OPTIONAL for f in TRACKING_FIELDS
    )
    assert spec("ip_address").pii
    assert spec("ip_address").type is FieldType.IP
    assert spec("source_url").type is FieldType.URL


def test_a_vertical_cannot_redefine_a_tracking_field() -> None:
    with pytest.raises(ValueError, match="'sub_id'"):
        with_tracking_fields((FieldSpec("sub_id", FieldType.INTEGER),))


def test_a_vertical_cannot_define_a_field_twice() -> None:
    with pytest.raises(ValueError, match="'zip'"):
        with_tracking_fields((FieldSpec("zip", FieldType.ZIP), FieldSpec("zip", FieldType.STRING)))


def test_pii_field_names() -> None:
    assert pii_field_names(AUTO) == {"phone", "email", "first_name", "ip_address"}


# --- validate_fields -----------------------------------------------------------------


def test_valid_ping_is_normalized() -> None:
    result = validate_fields(
        AUTO,
        {
            "state": "florida",
            "zip": "33101-0001",
            "age": "42",
            "credit": "good",
            "insured": "Y",
            "dob": "01/31/1984",
            "premium": "99.90",
            "sub_id": "aff-7",
        },
        Stage.PING,
    )
    assert result.errors == ()
    assert result.pii_in_ping == ()
    assert result.values == {
        "state": "FL",
        "zip": "33101",
        "age": 42,
        "credit": "Good",
        "insured": True,
        "dob": dt.date(1984, 1, 31),
        "premium": Decimal("99.90"),
        "sub_id": "aff-7",
    }


def test_every_problem_is_reported_with_its_path() -> None:
    result = validate_fields(
        AUTO,
        {"state": "ZZ", "age": "old", "colour": "red", "credit": "Great", "zip": None},
        Stage.POST,
    )
    by_field = {error.loc[-1]: error for error in result.errors}
    assert by_field["state"] == FieldError(
        ("body", "fields", "state"), "must be a US state code such as FL", "invalid_state", "ZZ"
    )
    assert by_field["age"].type == "invalid_integer"
    assert by_field["age"].input == "old"
    assert by_field["colour"].type == "unknown_field"
    assert by_field["credit"].type == "invalid_enum"
    # required at post and absent (None counts as absent)
    for name in ("zip", "phone", "email", "first_name"):
        assert by_field[name].type == "missing"
        assert by_field[name].loc == ("body", "fields", name)
    assert len(result.errors) == 8
    assert result.values == {}


def test_invalid_pii_value_is_not_echoed_in_the_error() -> None:
    result = validate_fields(
        AUTO,
        {"state": "CA", "zip": "90210", "phone": "555", "email": "x@y.com", "first_name": "Al"},
        Stage.POST,
        loc=("fields",),
    )
    (error,) = result.errors
    assert error.loc == ("fields", "phone")
    assert error.type == "invalid_phone"
    assert error.input is None


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_none_and_empty_text_count_as_absent(blank: object) -> None:
    result = validate_fields(AUTO, {"state": "CA", "zip": blank, "age": blank}, Stage.PING)
    assert result.values == {"state": "CA"}
    assert [(e.loc[-1], e.type) for e in result.errors] == [("zip", "missing")]


def test_requirements_depend_on_the_stage() -> None:
    ping = validate_fields(AUTO, {"state": "CA", "zip": "90210"}, Stage.PING)
    assert ping.errors == ()
    post = validate_fields(AUTO, {"state": "CA", "zip": "90210"}, Stage.POST)
    assert sorted(e.loc[-1] for e in post.errors if e.type == "missing") == [
        "email",
        "first_name",
        "phone",
    ]


def test_full_post_keeps_pii() -> None:
    result = validate_fields(
        AUTO,
        {
            "state": "CA",
            "zip": "90210",
            "phone": "(310) 555-0100",
            "email": "Al@Example.com",
            "first_name": " Al ",
            "ip_address": "198.51.100.4",
            "comments": "call 310 555 0100",
        },
        Stage.POST,
    )
    assert result.errors == ()
    assert result.pii_in_ping == ()
    assert result.values["phone"] == "3105550100"
    assert result.values["email"] == "al@example.com"
    assert result.values["first_name"] == "Al"
    assert result.values["ip_address"] == "198.51.100.4"


def test_pii_in_a_ping_is_reported_and_dropped_not_an_error() -> None:
    result = validate_fields(
        AUTO,
        {
            "state": "CA",
            "zip": "90210",
            "email": "not even an email",
            "ip_address": "198.51.100.4",
            "comments": "Al@Example.com",
            "sub_id": "(310) 555-0100",
            "sub_id2": "13105550100",
            "sub_id3": "aff 310 x",
        },
        Stage.PING,
    )
    assert result.errors == ()
    assert result.pii_in_ping == ("email", "ip_address", "comments", "sub_id", "sub_id2")
    assert result.values == {"state": "CA", "zip": "90210", "sub_id3": "aff 310 x"}


def test_pii_check_in_ping_is_on_whole_text_values_only() -> None:
    result = validate_fields(
        AUTO,
        {
            "state": "CA",
            "zip": "90210",
            "consent_text": "By clicking I agree to be called at the number I gave.",
            "consent_at": "2026-03-08T10:00:00Z",
            "lead_ref": "12345",
            "jornaya_lead_id": "A1B2C3D4-E5F6-7890-ABCD-EF1234567890",
        },
        Stage.PING,
    )
    assert result.errors == ()
    assert result.pii_in_ping == ()
    assert result.values["lead_ref"] == "12345"


def test_string_field_too_long() -> None:
    result = validate_fields(
        AUTO, {"state": "CA", "zip": "90210", "comments": "x" * 21}, Stage.PING
    )
    (error,) = result.errors
    assert (error.loc[-1], error.type) == ("comments", "too_long")
    assert "comments" not in result.values


# --- JSON form and ping/post comparison ----------------------------------------------


def test_json_round_trip() -> None:
    values: dict[str, LeadValue] = {
        "state": "CA",
        "age": 30,
        "premium": Decimal("12.50"),
        "insured": False,
        "dob": dt.date(1990, 5, 17),
    }
    as_json = values_to_json(values)
    assert as_json == {
        "state": "CA",
        "age": 30,
        "premium": "12.50",
        "insured": False,
        "dob": "1990-05-17",
    }
    back = values_from_json(AUTO, {**as_json, "gone": "dropped", "credit": None})
    assert back == values
    assert isinstance(back["premium"], Decimal)
    assert isinstance(back["dob"], dt.date)


def test_values_from_json_raises_on_a_value_that_no_longer_fits() -> None:
    with pytest.raises(FieldValueError):
        values_from_json(AUTO, {"credit": "Platinum"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.000001"), "-0.000001"),
        (dt.date(2026, 3, 8), "2026-03-08"),
        (True, True),
        (7, 7),
        ("x", "x"),
    ],
)
def test_to_json_value(value: LeadValue, expected: object) -> None:
    assert to_json_value(value) == expected


def test_mismatched_fields_compares_normalized_values_present_in_both() -> None:
    field_state = spec("state")
    ping = {"state": normalize_value(field_state, "florida"), "zip": "33101", "age": 40}
    post = {
        "state": normalize_value(field_state, "FL"),
        "zip": "33102",
        "age": 41,
        "phone": "3055551234",
    }
    assert mismatched_fields(ping, post) == ("age", "zip")
    assert mismatched_fields(ping, {"state": "FL"}) == ()
    assert mismatched_fields({}, post) == ()
