"""The gates of a sorted list of orders as bit masks (``domain.order_index``): for each
gated field and kind (``domain.filter_gates.field_gates``), the positions each lead value
admits. Bit ``i`` stands for the list's ``i``-th order; a field the lead lacks, or a value
of another type than the field's, rules nothing out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

from pingtree.domain.filter_rules import FieldGate
from pingtree.domain.orders import Order
from pingtree.domain.verticals import LeadValue

__all__ = ["GateMask", "gate_masks"]


class GateMask:
    """One field and kind of gate over one list: the positions each lead value admits."""

    field: str

    def admits(self, value: LeadValue) -> int | None:
        """The mask of positions whose gate ``value`` meets; ``None``: cannot tell."""
        raise NotImplementedError


class _ValueGate(GateMask):
    def __init__(self, name: str, by_value: dict[LeadValue, int], ungated: int) -> None:
        self.field, self._by_value, self._ungated = name, by_value, ungated

    def admits(self, value: LeadValue) -> int | None:
        return self._by_value.get(value, 0) | self._ungated


class _PrefixGate(GateMask):
    def __init__(self, name: str, by_prefix: dict[str, int], ungated: int) -> None:
        self.field, self._by_prefix, self._ungated = name, by_prefix, ungated
        self._lengths = tuple(sorted({len(prefix) for prefix in by_prefix}))

    def admits(self, value: LeadValue) -> int | None:
        if not isinstance(value, str):
            return None
        text, found = value.casefold(), self._ungated
        for length in self._lengths:
            found |= self._by_prefix.get(text[:length], 0)
        return found


class _RangeGate(GateMask):
    """The number line cut at every bound: region ``2i`` lies below ``points[i]``, region
    ``2i + 1`` is ``points[i]`` itself, and each region knows the orders it satisfies."""

    def __init__(self, name: str, points: list[LeadValue], regions: list[int]) -> None:
        self.field, self._points, self._regions = name, points, regions

    def admits(self, value: LeadValue) -> int | None:
        try:
            i = bisect_left(self._points, value)
        except TypeError:  # a value of another type than the field's: the filter decides
            return None
        exact = i < len(self._points) and self._points[i] == value
        return self._regions[2 * i + 1 if exact else 2 * i]


#: more distinct bounds than this on one field and the range is not indexed (its masks
#: would cost more memory than the filter saves time)
_MAX_POINTS = 512


def _mask(positions: Iterable[int], size: int) -> int:
    bits = bytearray((size + 7) // 8)
    for p in positions:
        bits[p >> 3] |= 1 << (p & 7)
    return int.from_bytes(bits, "little")


def _gate_kind(gate: FieldGate) -> str:
    if gate.values is not None:
        return "values"
    return "prefixes" if gate.prefixes is not None else "range"


def gate_masks(orders: Sequence[Order]) -> tuple[GateMask, ...]:
    """The gates of ``orders`` (a list's, by position) as masks, one per field and kind;
    a range with more than 512 distinct bounds is left out (the filters still decide)."""
    size = len(orders)
    by_key: dict[tuple[str, str], list[FieldGate | None]] = {}
    for position, order in enumerate(orders):
        for gate in order.gates:
            key = (gate.field, _gate_kind(gate))
            column = by_key.get(key)
            if column is None:
                column = by_key[key] = [None] * size
            column[position] = gate
    built: list[GateMask] = []
    for (name, kind), column in by_key.items():
        ungated = _mask((p for p, g in enumerate(column) if g is None), size)
        if kind == "range":
            found = _range_gate(name, column, size)
            if found is not None:
                built.append(found)
            continue
        keyed: dict[Any, list[int]] = {}
        for position, held in enumerate(column):
            if held is not None:
                for value in (held.values if kind == "values" else held.prefixes) or ():
                    keyed.setdefault(value, []).append(position)
        masks = {value: _mask(positions, size) for value, positions in keyed.items()}
        built.append(
            _ValueGate(name, masks, ungated)
            if kind == "values"
            else _PrefixGate(name, masks, ungated)
        )
    return tuple(built)


def _range_gate(name: str, column: list[FieldGate | None], size: int) -> _RangeGate | None:
    bounds = {b for g in column if g is not None for b in (g.low, g.high) if b is not None}
    if len(bounds) > _MAX_POINTS:
        return None
    try:
        points = sorted(bounds)
    except TypeError:
        return None
    where = {point: i for i, point in enumerate(points)}
    last = 2 * len(points)
    starts: list[list[int]] = [[] for _ in range(last + 1)]
    ends: list[list[int]] = [[] for _ in range(last + 1)]
    for position, gate in enumerate(column):
        first, final = 0, last
        if gate is not None and gate.low is not None:
            first = 2 * where[gate.low] + (2 if gate.low_open else 1)
        if gate is not None and gate.high is not None:
            final = 2 * where[gate.high] + (0 if gate.high_open else 1)
        if first <= final:  # else no value meets it: in no region
            starts[first].append(position)
            ends[final].append(position)
    regions: list[int] = []
    active = 0
    for region in range(last + 1):
        active |= _mask(starts[region], size)
        regions.append(active)
        active &= ~_mask(ends[region], size)
    return _RangeGate(name, points, regions)
