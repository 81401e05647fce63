"""Filter gates: what a lead's fields must be for an order's filter to pass.

Read from a filter once per configuration snapshot (:func:`state_gate`,
:func:`field_gates`), so the hot path can index orders by a lead's values and leave out,
without running its filter, an order a lead cannot pass. A gate is necessary, not
sufficient: a lead inside it still runs the compiled filter (``domain.filters``). The
values are normalized as the filter normalizes them, so a gate and its filter agree.
"""

from __future__ import annotations

from pingtree.domain.filter_rules import Condition, FieldGate, FilterGroup, FilterOp
from pingtree.domain.filters import (
    ORDERED_TYPES,
    TEXT_TYPES,
    normalize_operand,
    normalize_operands,
    text_operand,
)
from pingtree.domain.verticals import FieldSpec, LeadValue, Vertical

__all__ = ["GATE_FIELD", "field_gates", "state_gate"]

#: the field the hot path indexes orders by (DESIGN §8.4: vertical, test, state)
GATE_FIELD = "state"


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
            found = frozenset(str(normalize_operand(spec, v, "")) for v in _as_list(values))
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
        kind = "range" if spec.type in ORDERED_TYPES else "prefix" if gate.prefixes else "set"
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
    if spec.type in ORDERED_TYPES:
        if op is FilterOp.BETWEEN:
            low, high = normalize_operands(spec, condition.value, "")
            return FieldGate(name, low=low, high=high)
        if op not in (FilterOp.EQ, FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE):
            return None
        bound = normalize_operand(spec, condition.value, "")
        if op is FilterOp.EQ:
            return FieldGate(name, low=bound, high=bound)
        if op in (FilterOp.GT, FilterOp.GTE):
            return FieldGate(name, low=bound, low_open=op is FilterOp.GT)
        return FieldGate(name, high=bound, high_open=op is FilterOp.LT)
    if spec.type not in TEXT_TYPES:
        return None
    if op in (FilterOp.IN, FilterOp.EQ):
        values = condition.value if op is FilterOp.IN else [condition.value]
        return FieldGate(name, values=frozenset(normalize_operands(spec, _as_list(values), "")))
    if op is FilterOp.STARTS_WITH:
        texts = _as_list(condition.value)
        return FieldGate(name, prefixes=frozenset(text_operand(t, "").casefold() for t in texts))
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
