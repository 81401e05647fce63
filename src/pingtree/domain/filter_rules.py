"""An order's filter as the domain sees it: conditions on fields grouped by ``all`` or
``any``, the gates a lead's values must pass, the filter compiled once per snapshot and its
verdict (``domain.filters`` compiles and runs them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pingtree.domain.verticals import LeadValue

__all__ = ["CompiledFilter", "Condition", "FieldGate", "FilterGroup", "FilterOp", "FilterVerdict"]


class FilterOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    REGEX = "regex"
    EXISTS = "exists"


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: FilterOp
    #: ``in``/``not_in``/``starts_with`` may take a tuple; ``between`` a 2-tuple;
    #: ``exists`` a bool; the others one value. Values are normalized by the field's type.
    value: object


@dataclass(frozen=True, slots=True)
class FilterGroup:
    """``all`` (every item must pass) or ``any`` (one is enough) of conditions and groups."""

    mode: str  # "all" | "any"
    items: tuple[Condition | FilterGroup, ...] = ()


@dataclass(frozen=True, slots=True)
class FilterVerdict:
    passed: bool
    #: why it failed, human-readable (``"state in [CA, TX]"``); empty when passed
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FieldGate:
    """A condition a lead's field must meet for a filter to pass (``domain.filter_gates``): its
    value one of ``values``, or starting with one of ``prefixes`` (case-insensitive), or
    between ``low`` and ``high`` (each ``None`` for no bound; ``*_open`` excludes it)."""

    field: str
    values: frozenset[LeadValue] | None = None
    prefixes: frozenset[str] | None = None
    low: LeadValue | None = None
    low_open: bool = False
    high: LeadValue | None = None
    high_open: bool = False


#: A filter compiled once per snapshot. Arguments: the lead's normalized values and
#: ``qualify_all`` (a condition on an absent field fails instead of passing).
CompiledFilter = Callable[[Mapping[str, LeadValue], bool], FilterVerdict]
