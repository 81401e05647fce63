"""Order filters: every operator, nesting, absent fields, compile errors, RE2."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import pytest

from pingtree.domain.fields import with_tracking_fields
from pingtree.domain.filter_gates import state_gate
from pingtree.domain.filter_rules import Condition, FilterGroup, FilterOp, FilterVerdict
from pingtree.domain.filters import FilterConfigError, compile_filter
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue, Vertical

AUTO = Vertical(
    id="auto_insurance",
    name="Auto insurance",
    fields=with_tracking_fields(
        (
            FieldSpec("state", FieldType.STATE),
            FieldSpec("zip", FieldType.ZIP),
            FieldSpec("age", FieldType.INTEGER),
            FieldSpec("credit", FieldType.ENUM, values=("Excellent", "Good", "Fair", "Poor")),
            FieldSpec("insured", FieldType.BOOLEAN),
            FieldSpec("dob", FieldType.DATE),
            FieldSpec("premium", FieldType.DECIMAL),
            FieldSpec("vehicle", FieldType.STRING),
            FieldSpec("phone", FieldType.PHONE, pii=True),
            FieldSpec("email", FieldType.EMAIL, pii=True),
            FieldSpec("first_name", FieldType.STRING, pii=True),
        )
    ),
)

LEAD: dict[str, LeadValue] = {
    "state": "FL",
    "zip": "33101",
    "age": 42,
    "credit": "Good",
    "insured": True,
    "dob": dt.date(1984, 1, 31),
    "premium": Decimal("99.90"),
    "vehicle": "Toyota Camry Hybrid",
    "phone": "3055551234",
    "email": "al@example.com",
    "first_name": "Alice",
    "source_url": "https://quotes.example.com/auto?utm=x",
}


def cond(field: str, op: str, value: object = None) -> Condition:
    return Condition(field, FilterOp(op), value)


def all_(*items: Condition | FilterGroup) -> FilterGroup:
    return FilterGroup("all", items)


def any_(*items: Condition | FilterGroup) -> FilterGroup:
    return FilterGroup("any", items)


def check(
    condition: Condition | FilterGroup,
    values: Mapping[str, LeadValue] = LEAD,
    *,
    qualify_all: bool = False,
) -> FilterVerdict:
    group = condition if isinstance(condition, FilterGroup) else all_(condition)
    return compile_filter(group, AUTO)(values, qualify_all)


def passes(condition: Condition | FilterGroup, values: Mapping[str, LeadValue] = LEAD) -> bool:
    verdict = check(condition, values)
    # a pass carries no reason; a failure always does
    assert bool(verdict.reason) is not verdict.passed
    return verdict.passed


# --- every operator --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("state", "eq", "FL"), True),
        (cond("state", "eq", "florida"), True),
        (cond("state", "eq", "CA"), False),
        (cond("state", "ne", "CA"), True),
        (cond("state", "ne", "fl"), False),
        (cond("state", "in", ["ca", "Florida"]), True),
        (cond("state", "in", ("CA", "TX")), False),
        (cond("state", "not_in", ["CA", "TX"]), True),
        (cond("state", "not_in", ["FL"]), False),
        (cond("credit", "in", ["good", "EXCELLENT"]), True),
        (cond("insured", "eq", "yes"), True),
        (cond("insured", "eq", False), False),
        (cond("age", "gt", 41), True),
        (cond("age", "gt", "42"), False),
        (cond("age", "gte", 42), True),
        (cond("age", "lt", 42), False),
        (cond("age", "lte", "42"), True),
        (cond("age", "between", [25, 65]), True),
        (cond("age", "between", [42, 42]), True),
        (cond("age", "between", [43, 65]), False),
        (cond("premium", "gte", "99.90"), True),
        (cond("premium", "lt", 99.9), False),
        (cond("premium", "between", ["50", "100.00"]), True),
        (cond("dob", "lt", "1990-01-01"), True),
        (cond("dob", "gte", "02/01/1984"), False),
        (cond("dob", "between", ["1984-01-31", "1984-01-31"]), True),
        (cond("vehicle", "contains", "camry"), True),
        (cond("vehicle", "contains", "HYBRID"), True),
        (cond("vehicle", "contains", "Honda"), False),
        (cond("source_url", "contains", "QUOTES.example"), True),
        (cond("zip", "starts_with", "331"), True),
        (cond("zip", "starts_with", [330, "331"]), True),
        (cond("zip", "starts_with", ["330", "332"]), False),
        (cond("vehicle", "starts_with", "toyota"), True),
        (cond("vehicle", "regex", r"^Toyota\s+\w+"), True),
        (cond("vehicle", "regex", r"^camry"), False),
        (cond("vehicle", "regex", r"(?i)CAMRY"), True),
        (cond("email", "regex", r"@example\.com$"), True),
        (cond("state", "exists", True), True),
        (cond("state", "exists", False), False),
        (cond("zip", "eq", "33101-9999"), True),
        (cond("zip", "in", [33101, 33102]), True),
        (cond("phone", "eq", "(305) 555-1234"), True),
    ],
)
def test_operators(condition: Condition, expected: bool) -> None:
    assert passes(condition) is expected


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        (cond("state", "in", ["CA", "tx"]), "state in [CA, TX]"),
        (cond("state", "not_in", ["fl", "GA"]), "state not_in [FL, GA]"),
        (cond("state", "eq", "California"), "state eq CA"),
        (cond("age", "between", [25, 40]), "age between [25, 40]"),
        (cond("age", "gt", 50), "age gt 50"),
        (cond("premium", "lte", "10.5"), "premium lte 10.5"),
        (cond("dob", "gt", "01/01/2000"), "dob gt 2000-01-01"),
        (cond("insured", "eq", "n"), "insured eq false"),
        (cond("zip", "starts_with", [100, 101]), "zip starts_with [100, 101]"),
        (cond("zip", "starts_with", "90"), "zip starts_with 90"),
        (cond("vehicle", "contains", "Honda"), "vehicle contains Honda"),
        (cond("vehicle", "regex", "^Ford"), "vehicle regex ^Ford"),
        (cond("state", "exists", False), "state present"),
    ],
)
def test_a_failing_condition_is_named_readably(condition: Condition, reason: str) -> None:
    assert check(condition) == FilterVerdict(passed=False, reason=reason)


def test_reasons_never_carry_lead_values() -> None:
    conditions: list[Condition | FilterGroup] = [
        cond("email", "eq", "bob@example.org"),
        cond("email", "regex", "^bob@"),
        cond("first_name", "contains", "bob"),
        cond("phone", "in", ["2125550100"]),
        cond("phone", "starts_with", "212"),
        cond("vehicle", "eq", "Ford"),
        all_(cond("state", "eq", "FL"), any_(cond("age", "lt", 30), cond("zip", "eq", "10001"))),
    ]
    lead_texts = [str(value) for value in LEAD.values()]
    for condition in conditions:
        verdict = check(condition, qualify_all=True)
        assert not verdict.passed
        assert verdict.reason
        assert not [text for text in lead_texts if text in verdict.reason], verdict.reason


# --- groups ----------------------------------------------------------------------------


def test_empty_groups_pass() -> None:
    assert check(all_()) == FilterVerdict(passed=True)
    assert check(any_()) == FilterVerdict(passed=True)
    assert check(all_(any_(), all_())).passed


def test_all_fails_at_the_first_failing_item() -> None:
    group = all_(
        cond("state", "in", ["FL", "GA"]),
        cond("age", "between", [50, 65]),
        cond("credit", "eq", "Poor"),
    )
    assert check(group) == FilterVerdict(passed=False, reason="age between [50, 65]")


def test_any_passes_at_the_first_passing_item_and_names_itself_when_all_fail() -> None:
    assert check(any_(cond("state", "eq", "CA"), cond("zip", "starts_with", "331"))).passed
    verdict = check(any_(cond("state", "eq", "CA"), cond("zip", "starts_with", ["100", "101"])))
    assert verdict == FilterVerdict(
        passed=False, reason="any(state eq CA, zip starts_with [100, 101]) failed"
    )


def test_nested_geography_and_age() -> None:
    group = all_(
        any_(
            cond("state", "in", ["CA", "TX"]),
            all_(cond("state", "eq", "FL"), cond("zip", "starts_with", ["331", "332"])),
        ),
        cond("age", "gte", 25),
        cond("insured", "eq", True),
    )
    compiled = compile_filter(group, AUTO)
    assert compiled(LEAD, False).passed
    assert compiled({**LEAD, "zip": "32801"}, False) == FilterVerdict(
        passed=False,
        reason="any(state in [CA, TX], all(state eq FL, zip starts_with [331, 332])) failed",
    )
    assert compiled({**LEAD, "state": "TX", "zip": "75001"}, False).passed
    assert compiled({**LEAD, "age": 19}, False).reason == "age gte 25"


def test_a_compiled_filter_is_reusable() -> None:
    compiled = compile_filter(all_(cond("age", "lt", 30)), AUTO)
    assert [compiled({"age": age}, False).passed for age in (20, 30, 25, 40)] == [
        True,
        False,
        True,
        False,
    ]


# --- absent fields ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        cond("age", "gt", 18),
        cond("state", "in", ["CA"]),
        cond("state", "not_in", ["CA"]),
        cond("credit", "ne", "Poor"),
        cond("vehicle", "contains", "x"),
        cond("zip", "starts_with", "3"),
        cond("vehicle", "regex", "x"),
    ],
)
def test_a_condition_on_an_absent_field_passes_unless_qualify_all(condition: Condition) -> None:
    assert check(condition, {}) == FilterVerdict(passed=True)
    assert check(condition, {}, qualify_all=True) == FilterVerdict(
        passed=False, reason=f"{condition.field} missing"
    )


def test_exists_decides_absence_itself() -> None:
    for qualify_all in (False, True):
        assert check(cond("age", "exists", True), {}, qualify_all=qualify_all) == FilterVerdict(
            passed=False, reason="age missing"
        )
        assert check(cond("age", "exists", False), {}, qualify_all=qualify_all).passed
        assert check(cond("age", "exists", True), {"age": 30}, qualify_all=qualify_all).passed


def test_qualify_all_inside_any() -> None:
    group = any_(cond("credit", "eq", "Good"), cond("state", "eq", "CA"))
    values = {"state": "FL"}
    assert check(group, values).passed  # credit absent: passes
    assert not check(group, values, qualify_all=True).passed


def test_a_value_of_the_wrong_type_does_not_match() -> None:
    # values are expected normalized; a raw string on an integer field is no match, not a crash
    assert check(cond("age", "gt", 18), {"age": "42"}) == FilterVerdict(False, "age gt 18")
    assert not check(cond("vehicle", "contains", "4"), {"vehicle": 42}).passed


# --- compile errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "path", "message"),
    [
        (all_(cond("colour", "eq", "red")), "all[0].field", "unknown field 'colour'"),
        (all_(cond("state", "gt", "CA")), "all[0].op", "integer, decimal or date"),
        (all_(cond("zip", "between", ["10000", "20000"])), "all[0].op", "zip"),
        (all_(cond("vehicle", "lt", "b")), "all[0].op", "string"),
        (all_(cond("age", "contains", "4")), "all[0].op", "text field"),
        (all_(cond("insured", "regex", "t")), "all[0].op", "text field"),
        (all_(cond("dob", "starts_with", "1984")), "all[0].op", "text field"),
        (all_(cond("state", "in", [])), "all[0].value", "empty list"),
        (all_(cond("state", "in", "CA")), "all[0].value", "must be a list"),
        (all_(cond("state", "not_in", ["CA", "ZZ"])), "all[0].value[1]", "US state code"),
        (all_(cond("age", "between", [65, 25])), "all[0].value", "low must not be greater"),
        (all_(cond("age", "between", [25])), "all[0].value", "two values"),
        (all_(cond("age", "between", 25)), "all[0].value", "must be a list"),
        (all_(cond("age", "gt", "old")), "all[0].value", "whole number"),
        (all_(cond("age", "eq", [1, 2])), "all[0].value", "single value"),
        (all_(cond("age", "eq", None)), "all[0].value", "must not be empty"),
        (all_(cond("state", "exists", "yes")), "all[0].value", "true or false"),
        (all_(cond("vehicle", "contains", "")), "all[0].value", "non-empty string"),
        (all_(cond("zip", "starts_with", [])), "all[0].value", "empty list"),
        (all_(cond("zip", "starts_with", ["331", None])), "all[0].value[1]", "non-empty"),
        (all_(cond("vehicle", "regex", "(unclosed")), "all[0].value", "invalid regex: missing )"),
        (all_(cond("vehicle", "regex", r"(a)\1")), "all[0].value", "invalid regex"),
        (all_(cond("vehicle", "regex", "(?=look)ahead")), "all[0].value", "invalid regex"),
        (
            all_(cond("age", "gt", 1), any_(cond("state", "eq", "CA"), cond("age", "eq", "x"))),
            "all[1].any[1].value",
            "whole number",
        ),
        (all_(any_(all_(cond("nope", "exists", True)))), "all[0].any[0].all[0].field", "nope"),
        (FilterGroup("either", ()), "mode", "'all' or 'any'"),
        (all_(FilterGroup("one", ())), "all[0].mode", "'all' or 'any'"),
    ],
)
def test_compile_errors_name_their_path(group: FilterGroup, path: str, message: str) -> None:
    with pytest.raises(FilterConfigError) as info:
        compile_filter(group, AUTO)
    assert info.value.path == path
    assert message in info.value.msg
    assert str(info.value) == f"{path}: {info.value.msg}"


def test_unknown_operator_and_foreign_items_are_config_errors() -> None:
    with pytest.raises(FilterConfigError) as info:
        compile_filter(all_(Condition("state", "like", "C%")), AUTO)  # type: ignore[arg-type]
    assert info.value.path == "all[0].op"
    with pytest.raises(FilterConfigError) as info:
        compile_filter(FilterGroup("any", ({"field": "state"},)), AUTO)  # type: ignore[arg-type]
    assert info.value.path == "any[0]"


def test_operator_given_as_text_is_accepted() -> None:
    compiled = compile_filter(all_(Condition("state", "in", ["FL"])), AUTO)  # type: ignore[arg-type]
    assert compiled({"state": "FL"}, False).passed


# --- RE2 -------------------------------------------------------------------------------


def test_regex_runs_on_re2_in_linear_time() -> None:
    # catastrophic for a backtracking engine; RE2 answers at once
    compiled = compile_filter(all_(cond("vehicle", "regex", r"^(a+)+$")), AUTO)
    assert not compiled({"vehicle": "a" * 5000 + "!"}, False).passed
    assert compiled({"vehicle": "aaaa"}, False).passed


def test_regex_is_a_search_not_a_full_match() -> None:
    compiled = compile_filter(all_(cond("source_url", "regex", r"utm=\w")), AUTO)
    assert compiled(LEAD, False).passed


# --- the state gate (the hot path's state index) ------------------------------------------


@pytest.mark.parametrize(
    ("group", "gate"),
    [
        (all_(cond("state", "in", ["fl", "Georgia"])), {"FL", "GA"}),
        (all_(cond("state", "eq", "tx")), {"TX"}),
        # intersected across conditions and nested all-groups
        (
            all_(cond("state", "in", ["FL", "GA", "TX"]), all_(cond("state", "in", ["TX", "FL"]))),
            {"FL", "TX"},
        ),
        (all_(cond("age", "gte", 21), cond("state", "in", ["CA"])), {"CA"}),
        # an any-group, a negation or no state condition says nothing about the state
        (any_(cond("state", "in", ["CA"]), cond("age", "gte", 21)), None),
        (all_(any_(cond("state", "in", ["CA"]), cond("age", "gte", 21))), None),
        (all_(cond("state", "not_in", ["CA"])), None),
        (all_(cond("age", "gte", 21)), None),
    ],
)
def test_state_gate(group: FilterGroup, gate: set[str] | None) -> None:
    found = state_gate(group, AUTO)
    assert found == (frozenset(gate) if gate is not None else None)
    if found is not None:
        # whatever else a lead has, outside the gate the filter fails
        compiled = compile_filter(group, AUTO)
        outside = {**LEAD, "state": "NY"}
        assert not compiled(outside, False).passed
