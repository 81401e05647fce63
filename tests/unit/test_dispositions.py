"""The disposition codes and values (domain.dispositions): no I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pingtree.domain.dispositions import (
    DEFAULT_DISPOSITIONS,
    DispositionError,
    code_of,
    value_cents,
)


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("1250", 125000),
        ("1250.5", 125050),
        (" 0.01 ", 1),
        (1250, 125000),
        (0.1, 10),  # a JSON float read as its decimal text
        (Decimal("99.99"), 9999),
        ("10000000.00", 1_000_000_000),
    ],
)
def test_a_value_becomes_integer_cents(raw: object, cents: int | None) -> None:
    assert value_cents(raw) == cents


@pytest.mark.parametrize(
    "raw",
    ["abc", "-1", "12.345", "1e3", "NaN", float("nan"), float("inf"), "10000000.01", True],
)
def test_a_bad_value_names_the_value_field(raw: object) -> None:
    with pytest.raises(DispositionError) as caught:
        value_cents(raw)
    assert caught.value.field == "value"


def test_an_unknown_code_names_the_allowed_ones() -> None:
    assert code_of(DEFAULT_DISPOSITIONS, "sold").converted
    assert code_of(DEFAULT_DISPOSITIONS, "not_interested").contacted
    assert not code_of(DEFAULT_DISPOSITIONS, "bad_number").contacted
    with pytest.raises(DispositionError) as caught:
        code_of(DEFAULT_DISPOSITIONS, "Sold")  # codes are exact
    assert caught.value.field == "code"
    assert caught.value.msg.startswith("unknown disposition code; allowed: contacted, ")


def test_every_default_converted_code_is_a_contact() -> None:
    assert all(c.contacted for c in DEFAULT_DISPOSITIONS if c.converted)
    assert len({c.code for c in DEFAULT_DISPOSITIONS}) == len(DEFAULT_DISPOSITIONS)
