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

The operators' field types and the operand readers (:func:`normalize_operand`,
:func:`normalize_operands`, :func:`text_operand`) are public for ``domain.filter_gates``,
which reads the gates of a filter with the values this module compiles it with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import re2

from pingtree.domain.fields import FieldValueError, normalize_value, to_json_value
from pingtree.domain.filter_rules import (
    CompiledFilter,
    Condition,
    FilterGroup,
    FilterOp,
    FilterVerdict,
)
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue, Vertical

__all__ = [
    "ORDERED_TYPES",
    "TEXT_TYPES",
    "FilterConfigError",
    "compile_filter",
    "normalize_operand",
    "normalize_operands",
    "text_operand",
]


class FilterConfigError(ValueError):
    """A filter that cannot be compiled. ``path`` is relative to the group (``all[1].value``)."""

    def __init__(self, path: str, msg: str) -> None:
        super().__init__(f"{path}: {msg}" if path else msg)
        self.path = path
        self.msg = msg


_PASS = FilterVerdict(passed=True)

#: the field types the ordering operators (gt gte lt lte between) take
ORDERED_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE})
#: the field types contains, starts_with and regex take
TEXT_TYPES = frozenset(
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
    if op in _ORDERED_OPS and spec.type not in ORDERED_TYPES:
        raise FilterConfigError(
            _join(path, "op"),
            f"{op} needs an integer, decimal or date field; {name} is {spec.type}",
        )
    if op in _TEXT_OPS and spec.type not in TEXT_TYPES:
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
        listed = normalize_operands(spec, value, path)
        members = frozenset(listed)
        shown = _show_list(listed)
        if op is FilterOp.IN:
            return members.__contains__, shown
        return lambda v: v not in members, shown

    if op is FilterOp.BETWEEN:
        bounds = normalize_operands(spec, value, path)
        if len(bounds) != 2:
            raise FilterConfigError(path, "must be a list of two values [low, high]")
        low, high = bounds
        if low > high:  # type: ignore[operator]
            raise FilterConfigError(path, "low must not be greater than high")
        return lambda v: low <= v <= high, _show_list(bounds)

    if op is FilterOp.CONTAINS:
        text = text_operand(value, path)
        needle = text.casefold()
        return lambda v: isinstance(v, str) and needle in v.casefold(), text

    if op is FilterOp.STARTS_WITH:
        if isinstance(value, list | tuple):
            if not value:
                raise FilterConfigError(path, "must not be an empty list")
            texts = [text_operand(item, f"{path}[{i}]") for i, item in enumerate(value)]
            shown = "[" + ", ".join(texts) + "]"
        else:
            texts = [text_operand(value, path)]
            shown = texts[0]
        prefixes = tuple(text.casefold() for text in texts)
        return lambda v: isinstance(v, str) and v.casefold().startswith(prefixes), shown

    if op is FilterOp.REGEX:
        pattern = text_operand(value, path)
        options = re2.Options()
        options.log_errors = False
        try:
            program = re2.compile(pattern, options)
        except re2.error as exc:
            raise FilterConfigError(path, f"invalid regex: {_re2_message(exc)}") from None
        search = program.search
        return lambda v: isinstance(v, str) and search(v) is not None, pattern

    # eq ne gt gte lt lte: one value of the field's type
    target = normalize_operand(spec, value, path)
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


def normalize_operand(spec: FieldSpec, value: object, path: str) -> LeadValue:
    """One configured value, normalized by ``spec``'s normalizer as a lead's value is.

    Raises :class:`FilterConfigError` at ``path`` for a list, an empty value or a value
    the normalizer refuses."""
    if isinstance(value, list | tuple | set | frozenset | dict):
        raise FilterConfigError(path, "must be a single value, not a list")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FilterConfigError(path, "must not be empty")
    try:
        return normalize_value(spec, value)
    except FieldValueError as exc:
        raise FilterConfigError(path, f"{value!r} {exc.msg}") from None


def normalize_operands(spec: FieldSpec, value: object, path: str) -> list[LeadValue]:
    """A configured non-empty list, each item as :func:`normalize_operand` reads it."""
    if not isinstance(value, list | tuple):
        raise FilterConfigError(path, "must be a list")
    if not value:
        raise FilterConfigError(path, "must not be an empty list")
    return [normalize_operand(spec, item, f"{path}[{i}]") for i, item in enumerate(value)]


def text_operand(value: object, path: str) -> str:
    """A non-empty text operand (``contains``, ``starts_with``, ``regex``); an integer is
    read as its digits."""
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
