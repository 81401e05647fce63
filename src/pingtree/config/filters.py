"""Compiling an order's filters and geography (``buyers[].orders[].filters`` and ``.geo``)
into one filter group, checked against the order's vertical and the results of its steps,
then compiled by ``domain.filters`` with the gates ``domain.filter_gates`` reads from it.
"""

from __future__ import annotations

import re

from pingtree.config.buyer_spec import ConditionSpec, FilterGroupSpec, GeoSpec
from pingtree.config.errors import Issues, join_path
from pingtree.domain.filter_gates import field_gates, state_gate
from pingtree.domain.filter_rules import CompiledFilter, Condition, FieldGate, FilterGroup, FilterOp
from pingtree.domain.filters import FilterConfigError, compile_filter
from pingtree.domain.quality import with_result_fields
from pingtree.domain.verticals import Vertical

__all__ = ["compile_order_filter"]

_ZIP_PREFIX = re.compile(r"[0-9]{1,5}")


def compile_order_filter(
    filters: FilterGroupSpec | None,
    geo: GeoSpec | None,
    vertical: Vertical,
    path: str,
    issues: Issues,
) -> tuple[CompiledFilter | None, frozenset[str] | None, tuple[FieldGate, ...]]:
    """The order's compiled filter, its state gate and its field gates; ``None, None, ()``
    when it has neither filters nor geography, or when they do not compile (``issues``
    says why, at ``path``)."""
    vertical = with_result_fields(vertical)  # filters may name the steps' results too
    group = _filter_group(filters, geo, vertical, path, issues)
    if group is None:
        return None, None, ()
    compiled_filter, gate = _compile_group(group, vertical, path, issues)
    gates = field_gates(group, vertical) if compiled_filter is not None else ()
    return compiled_filter, gate, gates


def _filter_group(
    filters: FilterGroupSpec | None,
    geo: GeoSpec | None,
    vertical: Vertical,
    path: str,
    issues: Issues,
) -> FilterGroup | None:
    """The order's filters ANDed with its geography, each part checked against its vertical."""
    ok = True
    user_group = _group(filters) if filters is not None else None
    if user_group is not None:
        try:
            compile_filter(user_group, vertical)
        except FilterConfigError as exc:
            issues.add(join_path(f"{path}.filters", exc.path), exc.msg)
            ok = False

    geo_conditions: list[Condition | FilterGroup] = []
    if geo is not None:
        geo_conditions, geo_ok = _geo(geo, vertical, f"{path}.geo", issues)
        ok = ok and geo_ok

    if not ok:
        return None
    if geo_conditions:
        items: list[Condition | FilterGroup] = [*geo_conditions]
        if user_group is not None:
            items.insert(0, user_group)
        group = FilterGroup("all", tuple(items))
    elif user_group is not None:
        group = user_group
    else:
        return None
    return group


def _compile_group(
    group: FilterGroup, vertical: Vertical, path: str, issues: Issues
) -> tuple[CompiledFilter | None, frozenset[str] | None]:
    try:
        return compile_filter(group, vertical), state_gate(group, vertical)
    except FilterConfigError as exc:  # each part compiled alone; kept for safety
        issues.add(f"{path}.filters", exc.msg)
        return None, None


def _geo(
    geo: GeoSpec, vertical: Vertical, path: str, issues: Issues
) -> tuple[list[Condition | FilterGroup], bool]:
    """The geography sugar as filter items: states → ``state in``; zips → ``zip in`` and
    zip_prefixes → ``zip starts_with``, ORed when both are given (both say which zips)."""
    parts: dict[str, Condition] = {}
    ok = True
    for key, field_name, op, values in (
        ("states", "state", FilterOp.IN, geo.states),
        ("zips", "zip", FilterOp.IN, geo.zips),
        ("zip_prefixes", "zip", FilterOp.STARTS_WITH, geo.zip_prefixes),
    ):
        if not values:
            continue
        if vertical.field(field_name) is None:
            issues.add(f"{path}.{key}", f"vertical {vertical.id!r} has no {field_name!r} field")
            ok = False
            continue
        if key == "zip_prefixes":
            for k, prefix in enumerate(values):
                if not _ZIP_PREFIX.fullmatch(prefix):
                    issues.add(f"{path}.{key}[{k}]", "must be 1 to 5 digits", prefix)
                    ok = False
        condition = Condition(field_name, op, tuple(values))
        try:
            compile_filter(FilterGroup("all", (condition,)), vertical)
        except FilterConfigError as exc:
            # exc.path is "all[0].value…": the rest names the list item
            rest = exc.path.removeprefix("all[0]").removeprefix(".value")
            issues.add(f"{path}.{key}{rest}", exc.msg)
            ok = False
        parts[key] = condition
    if not ok:
        return [], False
    items: list[Condition | FilterGroup] = []
    if "states" in parts:
        items.append(parts["states"])
    zips = [parts[key] for key in ("zips", "zip_prefixes") if key in parts]
    if len(zips) == 1:
        items.append(zips[0])
    elif zips:
        items.append(FilterGroup("any", tuple(zips)))
    return items, True


def _group(spec: FilterGroupSpec) -> FilterGroup:
    mode, items = ("all", spec.all) if spec.all is not None else ("any", spec.any or [])
    return FilterGroup(
        mode,
        tuple(
            _condition(item) if isinstance(item, ConditionSpec) else _group(item) for item in items
        ),
    )


def _condition(spec: ConditionSpec) -> Condition:
    return Condition(spec.field, spec.op, _freeze(spec.value))


def _freeze(value: object) -> object:
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value
