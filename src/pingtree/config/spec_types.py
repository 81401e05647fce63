"""What the configuration's shapes are built of: the scalar types (numbers, money, slugs,
names, free-form JSON values) with their YAML reading and canonical writing, the length
limits, the frozen base model every spec extends, and the return rule both suppliers and
buyers take. The entities' shapes: ``config.vertical_spec``, ``config.supplier_spec``,
``config.buyer_spec``; the document: ``config.schema``.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from pingtree.domain.money import format_money, parse_money
from pingtree.domain.parties import ReturnRuleAction

__all__ = [
    "MAX_NAME",
    "MAX_REF",
    "MAX_TEXT",
    "SLUG_PATTERN",
    "FieldName",
    "JsonValue",
    "Label",
    "Money",
    "Name",
    "Number",
    "Ref",
    "ReturnRuleSpec",
    "Slug",
    "Spec",
    "number_in",
    "number_out",
]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


def number_in(raw: object) -> Decimal:
    """A finite number written as an integer, a float or a string (``"12.5"``)."""
    if isinstance(raw, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float | str):
        # a float goes through its shortest repr so 0.1 stays 0.1
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("must be a number") from None
    else:
        raise ValueError("must be a number")
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def number_out(value: Decimal) -> int | str:
    """Whole numbers as YAML integers; the others as exact strings (no float rounding)."""
    if value == value.to_integral_value():
        return int(value)
    return format(value.normalize(), "f")


def _money_in(raw: object) -> Decimal:
    return parse_money(raw)


def _money_out(value: Decimal) -> str:
    return format_money(value)


def _json_value_in(raw: object) -> object:
    """Free-form values (filter values, delivery specs) must survive a JSON column."""
    if isinstance(raw, dt.datetime | dt.date | dt.time):
        # YAML reads an unquoted 2026-12-25 as a date: keep its text
        return raw.isoformat()
    if raw is None or isinstance(raw, str | bool | int):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError("must be a finite number")
        return raw
    if isinstance(raw, list | tuple):
        return [_json_value_in(item) for item in raw]
    if isinstance(raw, dict):
        out: dict[str, object] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                raise ValueError(f"mapping keys must be strings, not {key!r}")
            out[key] = _json_value_in(value)
        return out
    raise ValueError(f"unsupported value of type {type(raw).__name__}")


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
#: the longest name or label: pages show them whole (issue 13: unlimited names broke them)
MAX_NAME = 100
#: the longest reference to an id, a time zone name or a field name
MAX_REF = 64
#: the longest URL or free text value of a list (enum values, filter fields)
MAX_TEXT = 2048
#: a display name: a vertical's, a supplier's, a campaign's, a buyer's, an order's
Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
#: a field's label or an enum field's allowed value
Label = Annotated[str, StringConstraints(max_length=MAX_NAME)]
#: a vertical id, a field name or a time zone named by another entity
Ref = Annotated[str, StringConstraints(max_length=MAX_REF)]
FieldName = Annotated[str, StringConstraints(pattern=_FIELD_NAME_PATTERN)]
Number = Annotated[
    Decimal,
    BeforeValidator(number_in),
    PlainSerializer(number_out, when_used="json"),
]
Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    PlainSerializer(_money_out, when_used="json"),
]
JsonValue = Annotated[Any, BeforeValidator(_json_value_in)]


class Spec(BaseModel):
    """The base of every spec: frozen, and an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- shared by suppliers and buyers -----------------------------------------------------------


class ReturnRuleSpec(Spec):
    #: the return rate, in percent, above which the rule acts
    max_rate: Number
    #: no verdict before this many sales in the window
    min_sales: int = Field(default=20, ge=1)
    days: int = Field(default=30, ge=1, le=366)
    action: ReturnRuleAction = ReturnRuleAction.PAUSE
    #: ``demote``: added to each of the buyer's orders' priority number
    demote_by: int = Field(default=100, ge=1)
