"""Order filters: compiled once per configuration snapshot, evaluated per lead.

A filter is a tree of ``all``/``any`` groups of conditions on a vertical's fields
(DESIGN §1). :func:`compile_filter` checks it against the vertical, normalizes its values
with the fields' own normalizers (so ``state in [ca, Florida]`` matches ``CA`` and
``FL``) and turns it into a closure; the scan runs it for every order of a ping, so all
the work that can be done up front is (sets, lower-cased needles, RE2 programs).

Errors::

    ValueError
    └── FilterConfigError    the filter does not fit the vertical; .path says where

Verdict reasons name the failing condition with its configured values only, never a
value from the lead (lead values may be PII).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import re2

from pingtree.domain.fields import FieldValueError, normalize_value, to_json_value
from pingtree.domain.model import (
    CompiledFilter,
    Condition,
    FieldGate,
    FieldSpec,
    FieldType,
    FilterGroup,
    FilterOp,
    FilterVerdict,
    LeadValue,
    Vertical,
)

__all__ = ["GATE_FIELD", "FilterConfigError", "compile_filter", "field_gates", "state_gate"]

#: the field the hot path indexes orders by (DESIGN §8.4: vertical, test, state)
GATE_FIELD = "state"


class FilterConfigError(ValueError):
    """A filter that cannot be compiled. ``path`` is relative to the group (``all[1].value``)."""

    def __init__(self, path: str, msg: str) -> None:
        super().__init__(f"{path}: {msg}" if path else msg)
        self.path = path
        self.msg = msg


_PASS = FilterVerdict(passed=True)

_ORDERED_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE})
_TEXT_TYPES = frozenset(
    {
        FieldType.STRING,
        FieldType.ENUM,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.ZIP,
        FieldType.STATE,
        FieldType.IP,
        FieldType.URL,
    }
)
_ORDERED_OPS = frozenset({FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE, FilterOp.BETWEEN})
_TEXT_OPS = frozenset({FilterOp.CONTAINS, FilterOp.STARTS_WITH, FilterOp.REGEX})

#: a test of a present value; True means the condition holds
_Test = Callable[[LeadValue], bool]


def compile_filter(group: FilterGroup, vertical: Vertical) -> CompiledFilter:
    """Compile ``group`` against ``vertical`` into ``(values, qualify_all) -> FilterVerdict``.

    Raises :class:`FilterConfigError` with the path of the first problem: an unknown
    field, an operator that does not fit the field's type (ordering only on integer,
    decimal and date; ``contains``/``starts_with``/``regex`` only on text types), a value
    of the wrong shape or that the field's normalizer refuses, a regex RE2 cannot compile.

    The compiled filter takes normalized values (as ``validate_fields`` produces; a value
    of another type simply does not match). A condition on an absent field passes, unless
    ``qualify_all``, then it fails as ``"<field> missing"``; ``exists`` decides absence
    itself. ``all`` stops at the first failure, ``any`` at the first success; an empty
    group passes. ``contains`` and ``starts_with`` ignore case; ``regex`` is an RE2
    search, case-sensitive unless the pattern says ``(?i)``.
    """
    specs = {spec.name: spec for spec in vertical.fields}
    run, _ = _compile_group(group, specs, "")
    return run


def state_gate(group: FilterGroup, vertical: Vertical) -> frozenset[str] | None:
    """The states a lead must be in for ``group`` to pass, or ``None`` if it does not say.

    Read from ``state in``/``state eq`` conditions of the top-level ``all`` group (and of
    ``all`` groups nested in it), intersected: a lead whose state is outside the gate fails
    the filter whatever its other fields, so the hot path need not evaluate it. The group
    must already compile (values are normalized as the filter normalizes them).
    """
    spec = vertical.field(GATE_FIELD)
    if spec is None or group.mode != "all":
        return None
    gate: frozenset[str] | None = None
    for item in group.items:
        if isinstance(item, FilterGroup):
            found = state_gate(item, vertical)
        elif item.field == GATE_FIELD and item.op in (FilterOp.IN, FilterOp.EQ):
            values = item.value if item.op is FilterOp.IN else [item.value]
            found = frozenset(str(_normalize_one(spec, v, "")) for v in _as_list(values))
        else:
            continue
        if found is not None:
            gate = found if gate is None else gate & found
    return gate


def field_gates(group: FilterGroup, vertical: Vertical) -> tuple[FieldGate, ...]:
    """What the lead's fields must be for ``group`` to pass, one gate per field and kind.

    Read from the conditions of the top-level ``all`` group and of ``all`` groups nested
    in it (an ``any`` says nothing for sure): ``in``/``eq`` on a text field give its values,
    ``starts_with`` its prefixes, ``eq gt gte lt lte between`` on an integer, decimal or date
    field its range (intersected). Each gate is necessary, not sufficient: a lead outside
    it fails the filter, one inside still runs it. The group must already compile.
    """
    specs = {spec.name: spec for spec in vertical.fields}
    found: dict[tuple[str, str], FieldGate] = {}
    for condition in _all_conditions(group):
        spec = specs.get(condition.field)
        if spec is None:
            continue
        gate = _gate(condition, spec)
        if gate is None:
            continue
        kind = "range" if spec.type in _ORDERED_TYPES else "prefix" if gate.prefixes else "set"
        key = (condition.field, kind)
        earlier = found.get(key)
        found[key] = gate if earlier is None else _narrower(earlier, gate)
    return tuple(found.values())


def _all_conditions(group: FilterGroup) -> list[Condition]:
    if group.mode != "all":
        return []
    conditions: list[Condition] = []
    for item in group.items:
        if isinstance(item, FilterGroup):
            conditions.extend(_all_conditions(item))
        else:
            conditions.append(item)
    return conditions


def _gate(condition: Condition, spec: FieldSpec) -> FieldGate | None:
    op, name = FilterOp(condition.op), condition.field
    if spec.type in _ORDERED_TYPES:
        if op is FilterOp.BETWEEN:
            low, high = _normalize_list(spec, condition.value, "")
            return FieldGate(name, low=low, high=high)
        if op not in (FilterOp.EQ, FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE):
            return None
        bound = _normalize_one(spec, condition.value, "")
        if op is FilterOp.EQ:
            return FieldGate(name, low=bound, high=bound)
        if op in (FilterOp.GT, FilterOp.GTE):
            return FieldGate(name, low=bound, low_open=op is FilterOp.GT)
        return FieldGate(name, high=bound, high_open=op is FilterOp.LT)
    if spec.type not in _TEXT_TYPES:
        return None
    if op in (FilterOp.IN, FilterOp.EQ):
        values = condition.value if op is FilterOp.IN else [condition.value]
        return FieldGate(name, values=frozenset(_normalize_list(spec, _as_list(values), "")))
    if op is FilterOp.STARTS_WITH:
        texts = _as_list(condition.value)
        return FieldGate(name, prefixes=frozenset(_text_operand(t, "").casefold() for t in texts))
    return None


def _narrower(a: FieldGate, b: FieldGate) -> FieldGate:
    """Both gates at once: values intersected, the tighter bound of each side (prefixes:
    the first gate's, still necessary)."""
    if a.values is not None and b.values is not None:
        return FieldGate(a.field, values=a.values & b.values)
    if a.prefixes is not None:
        return a
    low, low_open = _tighter(a.low, a.low_open, b.low, b.low_open, greater=True)
    high, high_open = _tighter(a.high, a.high_open, b.high, b.high_open, greater=False)
    return FieldGate(a.field, low=low, low_open=low_open, high=high, high_open=high_open)


def _tighter(
    a: LeadValue | None, a_open: bool, b: LeadValue | None, b_open: bool, *, greater: bool
) -> tuple[LeadValue | None, bool]:
    if a is None:
        return b, b_open
    if b is None or a == b:
        return a, a_open or (a == b and b_open)
    a_wins = a > b if greater else a < b  # type: ignore[operator]
    return (a, a_open) if a_wins else (b, b_open)


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _compile_group(
    group: FilterGroup, specs: Mapping[str, FieldSpec], path: str
) -> tuple[CompiledFilter, str]:
    """The group's evaluator and its readable description."""
    mode = group.mode
    if mode not in ("all", "any"):
        raise FilterConfigError(_join(path, "mode"), f"must be 'all' or 'any', not {mode!r}")
    compiled: list[CompiledFilter] = []
    descriptions: list[str] = []
    for index, item in enumerate(group.items):
        item_path = _join(path, f"{mode}[{index}]")
        if isinstance(item, FilterGroup):
            run, description = _compile_group(item, specs, item_path)
        elif isinstance(item, Condition):
            run, description = _compile_condition(item, specs, item_path)
        else:
            raise FilterConfigError(item_path, "must be a condition or a group")
        compiled.append(run)
        descriptions.append(description)
    description = f"{mode}({', '.join(descriptions)})"
    items = tuple(compiled)

    if not items:

        def empty(values: Mapping[str, LeadValue], qualify_all: bool) -> FilterVerdict:
            return _PASS

        return empty, description

    if mode == "all":

        def all_(values: Mapping[str, LeadValue], qualify_all: bool) -> FilterVerdict:
            for run in items:
                verdict = run(values, qualify_all)
                if not verdict.passed:
                    return verdict
            return _PASS

        return all_, description

    failed = FilterVerdict(passed=False, reason=f"{description} failed")

    def any_(values: Mapping[str, LeadValue], qualify_all: bool) -> FilterVerdict:
        for run in items:
            if run(values, qualify_all).passed:
                return _PASS
        return failed

    return any_, description


def _compile_condition(
    condition: Condition, specs: Mapping[str, FieldSpec], path: str
) -> tuple[CompiledFilter, str]:
    name = condition.field
    spec = specs.get(name) if isinstance(name, str) else None
    if spec is None:
        raise FilterConfigError(_join(path, "field"), f"unknown field {name!r}")
    try:
        op = FilterOp(condition.op)
    except ValueError:
        raise FilterConfigError(_join(path, "op"), f"unknown operator {condition.op!r}") from None
    if op in _ORDERED_OPS and spec.type not in _ORDERED_TYPES:
        raise FilterConfigError(
            _join(path, "op"),
            f"{op} needs an integer, decimal or date field; {name} is {spec.type}",
        )
    if op in _TEXT_OPS and spec.type not in _TEXT_TYPES:
        raise FilterConfigError(
            _join(path, "op"), f"{op} needs a text field; {name} is {spec.type}"
        )
    value_path = _join(path, "value")
    missing = FilterVerdict(passed=False, reason=f"{name} missing")

    if op is FilterOp.EXISTS:
        if not isinstance(condition.value, bool):
            raise FilterConfigError(value_path, "must be true or false")
        return _exists(name, condition.value, missing)

    test, shown = _compile_test(op, spec, condition.value, value_path)
    description = f"{name} {op} {shown}"
    failed = FilterVerdict(passed=False, reason=description)

    def run(values: Mapping[str, LeadValue], qualify_all: bool) -> FilterVerdict:
        value = values.get(name)
        if value is None:
            return missing if qualify_all else _PASS
        try:
            return _PASS if test(value) else failed
        except TypeError:
            # a value of another type than the field's (not normalized): no match
            return failed

    return run, description


def _exists(name: str, wanted: bool, missing: FilterVerdict) -> tuple[CompiledFilter, str]:
    if wanted:

        def present(values: Mapping[str, LeadValue], qualify_all: bool) -> FilterVerdict:
            return missing if values.get(name) is None else _PASS

        return present, f"{name} exists"

    present_verdict = FilterVerdict(passed=False, reason=f"{name} present")

    def absent(values: Mapping[str, LeadValue], qualify_all: bool) -> FilterVerdict:
        return _PASS if values.get(name) is None else present_verdict

    return absent, f"{name} absent"


def _compile_test(op: FilterOp, spec: FieldSpec, value: object, path: str) -> tuple[_Test, str]:
    """The predicate for one operator and how its configured value reads in a reason."""
    if op in (FilterOp.IN, FilterOp.NOT_IN):
        listed = _normalize_list(spec, value, path)
        members = frozenset(listed)
        shown = _show_list(listed)
        if op is FilterOp.IN:
            return members.__contains__, shown
        return lambda v: v not in members, shown

    if op is FilterOp.BETWEEN:
        bounds = _normalize_list(spec, value, path)
        if len(bounds) != 2:
            raise FilterConfigError(path, "must be a list of two values [low, high]")
        low, high = bounds
        if low > high:  # type: ignore[operator]
            raise FilterConfigError(path, "low must not be greater than high")
        return lambda v: low <= v <= high, _show_list(bounds)

    if op is FilterOp.CONTAINS:
        text = _text_operand(value, path)
        needle = text.casefold()
        return lambda v: isinstance(v, str) and needle in v.casefold(), text

    if op is FilterOp.STARTS_WITH:
        if isinstance(value, list | tuple):
            if not value:
                raise FilterConfigError(path, "must not be an empty list")
            texts = [_text_operand(item, f"{path}[{i}]") for i, item in enumerate(value)]
            shown = "[" + ", ".join(texts) + "]"
        else:
            texts = [_text_operand(value, path)]
            shown = texts[0]
        prefixes = tuple(text.casefold() for text in texts)
        return lambda v: isinstance(v, str) and v.casefold().startswith(prefixes), shown

    if op is FilterOp.REGEX:
        pattern = _text_operand(value, path)
        options = re2.Options()
        options.log_errors = False
        try:
            program = re2.compile(pattern, options)
        except re2.error as exc:
            raise FilterConfigError(path, f"invalid regex: {_re2_message(exc)}") from None
        search = program.search
        return lambda v: isinstance(v, str) and search(v) is not None, pattern

    # eq ne gt gte lt lte: one value of the field's type
    target = _normalize_one(spec, value, path)
    shown = _show(target)
    if op is FilterOp.EQ:
        return lambda v: v == target, shown
    if op is FilterOp.NE:
        return lambda v: v != target, shown
    if op is FilterOp.GT:
        return lambda v: v > target, shown
    if op is FilterOp.GTE:
        return lambda v: v >= target, shown
    if op is FilterOp.LT:
        return lambda v: v < target, shown
    if op is FilterOp.LTE:
        return lambda v: v <= target, shown
    raise AssertionError(f"unhandled operator {op}")  # pragma: no cover


def _normalize_one(spec: FieldSpec, value: object, path: str) -> LeadValue:
    if isinstance(value, list | tuple | set | frozenset | dict):
        raise FilterConfigError(path, "must be a single value, not a list")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FilterConfigError(path, "must not be empty")
    try:
        return normalize_value(spec, value)
    except FieldValueError as exc:
        raise FilterConfigError(path, f"{value!r} {exc.msg}") from None


def _normalize_list(spec: FieldSpec, value: object, path: str) -> list[LeadValue]:
    if not isinstance(value, list | tuple):
        raise FilterConfigError(path, "must be a list")
    if not value:
        raise FilterConfigError(path, "must not be an empty list")
    return [_normalize_one(spec, item, f"{path}[{i}]") for i, item in enumerate(value)]


def _text_operand(value: object, path: str) -> str:
    # YAML reads an unquoted zip prefix such as 331 as a number
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise FilterConfigError(path, "must be a non-empty string")
    return value


def _show(value: LeadValue) -> str:
    shown = to_json_value(value)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return str(shown)


def _show_list(values: list[LeadValue]) -> str:
    return "[" + ", ".join(_show(v) for v in dict.fromkeys(values)) + "]"


def _re2_message(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        return detail.decode("utf-8", "replace")
    return str(detail)


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part
