"""Money: parsing a buyer's price, configuration amounts, cents, proportional splits."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingtree.domain.money import (
    CENT,
    MAX_PRICE,
    PriceError,
    format_money,
    from_cents,
    parse_money,
    parse_price,
    quantize_down,
    split_proportionally,
    to_cents,
)

D = Decimal


# --- cents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "cents"),
    [(D("12.50"), 1250), (D("12.5"), 1250), (D("0"), 0), (D("-3.07"), -307), (D("1E+2"), 10000)],
)
def test_to_cents(amount: Decimal, cents: int) -> None:
    assert to_cents(amount) == cents


@pytest.mark.parametrize("amount", [D("1.005"), D("0.001"), D("NaN"), D("Infinity")])
def test_to_cents_refuses_what_is_not_whole_cents(amount: Decimal) -> None:
    with pytest.raises(ValueError, match=r"cents|finite"):
        to_cents(amount)


def test_to_cents_is_exact_beyond_the_decimal_precision() -> None:
    huge = D("1234567890123456789012345678.91")  # 30 digits, more than the context's 28
    assert to_cents(huge) == 123456789012345678901234567891


def test_from_cents_has_two_decimals() -> None:
    assert str(from_cents(1250)) == "12.50"
    assert str(from_cents(0)) == "0.00"
    assert str(from_cents(-5)) == "-0.05"
    assert from_cents(10**30) == D(10**28)


def test_from_cents_refuses_a_bool() -> None:
    with pytest.raises(TypeError):
        from_cents(True)


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_cents_round_trip(cents: int) -> None:
    assert to_cents(from_cents(cents)) == cents


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("12.349", "12.34"), ("12.3", "12.30"), ("0.009", "0.00"), ("-1.239", "-1.23")],
)
def test_quantize_down_truncates(amount: str, expected: str) -> None:
    assert str(quantize_down(D(amount))) == expected


def test_quantize_down_refuses_infinity() -> None:
    with pytest.raises(ValueError, match="finite"):
        quantize_down(D("Infinity"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [(D("12.5"), "12.50"), (D("1E+2"), "100.00"), (D("-3"), "-3.00"), (D("-0.00"), "0.00")],
)
def test_format_money(amount: Decimal, text: str) -> None:
    assert format_money(amount) == text


def test_format_money_refuses_fractions_of_a_cent() -> None:
    with pytest.raises(ValueError, match="cents"):
        format_money(D("1.005"))


# --- configuration amounts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25", "25.00"),
        (" 25.5 ", "25.50"),
        ("25.000", "25.00"),
        (".5", "0.50"),
        (7, "7.00"),
        (D("3.1"), "3.10"),
        (0.1, "0.10"),
        (19.99, "19.99"),
        ("0", "0.00"),
    ],
)
def test_parse_money(raw: object, expected: str) -> None:
    result = parse_money(raw)
    assert str(result) == expected


@pytest.mark.parametrize(
    "raw",
    ["25.001", "1e3", "-1", -1, "NaN", D("Infinity"), float("nan"), True, None, "", "$5", [1]],
)
def test_parse_money_refuses(raw: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every cause is a plain ValueError
        parse_money(raw)


def test_parse_money_is_not_a_price_error() -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011
        parse_money("25.001")
    assert not isinstance(caught.value, PriceError)
    assert "two decimals" in str(caught.value)


# --- a buyer's price -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$1,250.00", "1250.00"),
        ("1,250", "1250.00"),
        ("50.00", "50.00"),
        ("  50 ", "50.00"),
        ("50.", "50.00"),
        (".75", "0.75"),
        ("12.349", "12.34"),
        ("12.999", "12.99"),
        (50, "50.00"),
        (12.5, "12.50"),
        (0.1, "0.10"),
        (19.999, "19.99"),
        (D("7.129"), "7.12"),
        ("0.01", "0.01"),
    ],
)
def test_parse_price(raw: object, expected: str) -> None:
    price = parse_price(raw)
    assert price is not None
    assert str(price) == expected


@pytest.mark.parametrize("raw", [0, "0", "0.00", "$0.00", 0.0, D("0"), "0.009", 0.004, "-0"])
def test_zero_is_no_bid(raw: object) -> None:
    assert parse_price(raw) is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("NaN", "NaN"),
        ("nan", "NaN"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("Infinity", "finite"),
        (D("-Infinity"), "finite"),
        (D("sNaN"), "finite"),
        ("-5", "negative"),
        (-5, "negative"),
        ("$-5", "negative"),
        ("-$5.00", "negative"),
        (-0.5, "negative"),
        ("1e3", "exponent"),
        ("1E+3", "exponent"),
        (True, "not a price"),
        (False, "not a price"),
        (None, "not a price"),
        ([50], "not a price"),
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "not a price"),
        ("1,25", "not a price"),
        ("12,50", "not a price"),
        ("5 USD", "not a price"),
        ("1_000", "not a price"),
        ("١٢", "not a price"),  # Arabic-Indic digits: not ASCII
        ("9" * 41, "too long"),
        (D("1E+30"), "above"),
        ("10000000.01", "above"),
    ],
)
def test_what_is_not_a_bid(raw: object, why: str) -> None:
    with pytest.raises(PriceError, match=why) as caught:
        parse_price(raw)
    assert isinstance(caught.value, ValueError)
    assert why in caught.value.msg


def test_max_bid_is_checked_after_rounding_down() -> None:
    assert parse_price("10.009", max_bid=D("10.00")) == D("10.00")
    assert parse_price("10.00", max_bid=D("10.00")) == D("10.00")
    with pytest.raises(PriceError, match="max_bid"):
        parse_price("10.01", max_bid=D("10.00"))
    assert parse_price("0", max_bid=D("10.00")) is None


def test_max_price_itself_is_a_price() -> None:
    assert parse_price(str(MAX_PRICE)) == MAX_PRICE


_anything = st.one_of(
    st.text(max_size=50),
    st.text(alphabet="0123456789.,$-+eE ", max_size=20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)


@given(_anything)
def test_parse_price_gives_a_cent_price_or_none_or_price_error(raw: object) -> None:
    try:
        price = parse_price(raw)
    except PriceError:
        return
    if price is not None:
        assert price.is_finite()
        assert CENT <= price <= MAX_PRICE
        assert price.as_tuple().exponent == -2
        assert price == price.quantize(CENT)


@given(
    st.decimals(min_value=0, max_value=MAX_PRICE, places=6, allow_nan=False),
    st.sampled_from(["{:f}", "${:f}", "{:,f}", "${:,f}"]),
)
def test_parse_price_rounds_down(amount: Decimal, spelling: str) -> None:
    text = spelling.format(amount)
    price = parse_price(text)
    expected = amount.quantize(CENT, rounding=ROUND_DOWN)
    if expected == 0:
        assert price is None
    else:
        assert price == expected
        assert price <= amount
        assert amount - price < CENT


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_a_float_is_read_as_its_shortest_text(value: float) -> None:
    price = parse_price(value)
    expected = Decimal(str(value)).quantize(CENT, rounding=ROUND_DOWN)
    assert price == (expected or None)


# --- proportional split --------------------------------------------------------------------


def test_split_largest_remainder() -> None:
    assert split_proportionally(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    # 1.00 over 30:20:10 → 0.5, 0.333…, 0.1666…: the extra cent goes to the largest remainder
    assert split_proportionally(D("1.00"), [D(30), D(20), D(10)]) == [
        D("0.50"),
        D("0.33"),
        D("0.17"),
    ]
    assert split_proportionally(D("7.00"), [D("30.00"), D("40.00")]) == [D("3.00"), D("4.00")]


def test_split_with_zero_weights_is_equal() -> None:
    assert split_proportionally(D("0.05"), [D(0), D(0)]) == [D("0.03"), D("0.02")]


def test_split_zero_weight_among_others_gets_nothing() -> None:
    assert split_proportionally(D("1.00"), [D(0), D(1)]) == [D("0.00"), D("1.00")]


def test_split_negative_total_mirrors_the_positive() -> None:
    assert split_proportionally(D("-1.00"), [D(1), D(2)]) == [D("-0.33"), D("-0.67")]


def test_split_edge_cases() -> None:
    assert split_proportionally(D("0.00"), []) == []
    assert split_proportionally(D("0.00"), [D(1), D(2)]) == [D("0.00"), D("0.00")]
    with pytest.raises(ValueError, match="no weights"):
        split_proportionally(D("1.00"), [])
    with pytest.raises(ValueError, match="non-negative"):
        split_proportionally(D("1.00"), [D(1), D(-1)])
    with pytest.raises(ValueError, match="cents"):
        split_proportionally(D("1.001"), [D(1)])


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(
        st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False), min_size=1, max_size=8
    ),
)
def test_split_sums_exactly_and_each_part_is_within_a_cent(
    cents: int, weights: list[Decimal]
) -> None:
    total = from_cents(cents)
    parts = split_proportionally(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts, D(0)) == total
    weight_sum = sum(weights, D(0))
    for part, weight in zip(parts, weights, strict=True):
        assert part == part.quantize(CENT)
        assert part >= 0
        exact = (
            Fraction(cents) * Fraction(weight) / Fraction(weight_sum)
            if weight_sum
            else Fraction(cents, len(weights))
        )
        assert abs(Fraction(to_cents(part)) - exact) < 1
