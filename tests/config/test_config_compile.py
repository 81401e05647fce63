"""Parsing and compiling the YAML configuration: shapes, references, every error's path."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from pingtree.config.compile import CompiledConfig, compile_config
from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.config.packaged import example_text, vertical_text
from pingtree.config.parse import dump_yaml, load_yaml, parse_config
from pingtree.config.schema import canonical
from pingtree.domain.campaigns import PayoutModel
from pingtree.domain.fields import TRACKING_FIELDS
from pingtree.domain.orders import Cap, CapKind, CapWindow, Leg, PricingKind, WeeklyInterval
from pingtree.domain.verticals import FieldType, Requirement

# --- a small valid document, changed per test ------------------------------------------------

BASE: dict[str, Any] = {
    "verticals": [
        {
            "id": "auto",
            "name": "Auto",
            "fields": [
                {"name": "zip", "type": "zip", "ping": "required", "post": "required"},
                {"name": "state", "type": "state", "ping": "required"},
                {"name": "age", "type": "integer", "min": 16, "max": 100},
                {"name": "credit", "type": "enum", "values": ["excellent", "good", "fair"]},
                {"name": "insured", "type": "boolean"},
                {"name": "phone", "type": "phone", "pii": True, "post": "required"},
            ],
        },
        {"id": "pets", "fields": [{"name": "species", "type": "string"}]},
    ],
    "suppliers": [
        {
            "id": "acme",
            "campaigns": [
                {
                    "id": "acme_auto",
                    "vertical": "auto",
                    "payout": {"model": "revenue_share", "percent": 70},
                    "ping_options": {"required_fields": ["zip", "age"]},
                }
            ],
        }
    ],
    "buyers": [
        {
            "id": "shield",
            "timezone": "America/New_York",
            "orders": [
                {"id": "o1", "vertical": "auto", "pricing": {"type": "fixed", "exclusive": "25"}},
                {"id": "o2", "vertical": "auto", "pricing": {"type": "fixed", "shared": 9}},
            ],
        }
    ],
}


def doc_with(**changes: Any) -> dict[str, Any]:
    """A deep copy of BASE with ``path=value`` changes (``buyers__0__orders__1__caps=[…]``)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = (int(p) if p.isdigit() else p for p in dotted.split("__"))
        node: Any = data
        for part in parents:
            node = node[part]
        node[last] = value
    return data


def compiled(data: dict[str, Any]) -> CompiledConfig:
    return compile_config(parse_config(data))


def issues(data: object) -> dict[str, ConfigIssue]:
    """Every issue of ``data`` (parse, else compile), by path."""
    with pytest.raises(ConfigError) as caught:
        compile_config(parse_config(data))
    return {issue.path: issue for issue in caught.value.issues}


def order(data: dict[str, Any], j: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = data["buyers"][0]["orders"][j]
    return result


# --- the shipped files --------------------------------------------------------------------------


def test_base_document_compiles() -> None:
    config = compiled(BASE)
    assert list(config.verticals) == ["auto", "pets"]
    assert list(config.orders) == ["o1", "o2"]
    assert config.campaigns["acme_auto"].supplier_id == "acme"
    # names default to ids
    assert config.suppliers["acme"].name == "acme"
    assert config.orders["o1"].name == "o1"


def test_example_marketplace_compiles() -> None:
    config = compile_config(load_yaml(example_text("marketplace")))
    assert set(config.verticals) == {"auto_insurance", "health_insurance"}
    assert len(config.suppliers) == 2
    assert len(config.campaigns) == 3
    assert len(config.buyers) == 4
    assert all(o.pricing.kind is PricingKind.FIXED for o in config.orders.values())
    assert any(o.filter is not None for o in config.orders.values())
    assert any(o.caps for o in config.orders.values())
    assert any(o.schedule is not None for o in config.orders.values())


def test_example_inlines_the_shipped_verticals_unchanged() -> None:
    example = load_yaml(example_text("marketplace"))
    shipped = [
        vertical
        for name in ("auto_insurance", "health_insurance")
        for vertical in load_yaml(vertical_text(name)).verticals
    ]
    assert [canonical(v) for v in example.verticals] == [canonical(v) for v in shipped]


@pytest.mark.parametrize("name", ["auto_insurance", "health_insurance"])
def test_shipped_verticals(name: str) -> None:
    vertical = compile_config(load_yaml(vertical_text(name))).verticals[name]
    names = [spec.name for spec in vertical.fields]
    for expected in ("zip", "state", "age", "gender", "first_name", "last_name", "email", "phone"):
        assert expected in names
    # tracking fields are inherited, after the vertical's own
    assert vertical.fields[-len(TRACKING_FIELDS) :] == TRACKING_FIELDS
    for pii in ("first_name", "last_name", "email", "phone", "address", "date_of_birth"):
        spec = vertical.field(pii)
        assert spec is not None
        assert spec.pii
        assert spec.ping is Requirement.OPTIONAL
    assert all(not spec.pii for spec in vertical.fields if spec.ping is Requirement.REQUIRED)


def test_packaged_file_names_are_checked() -> None:
    with pytest.raises(FileNotFoundError):
        vertical_text("../examples/marketplace")
    with pytest.raises(FileNotFoundError):
        vertical_text("solar")


# --- YAML text ------------------------------------------------------------------------------


def test_yaml_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("verticals:\n  - id: auto\n    fields: [\n")
    (issue,) = caught.value.issues
    assert issue.path == ""
    assert issue.msg.startswith("line 4, column 1: ")


def test_yaml_duplicate_key_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("buyers: []\nsuppliers: []\nbuyers: []\n")
    (issue,) = caught.value.issues
    assert issue.msg == "line 3, column 1: duplicate key 'buyers'"


def test_yaml_merge_keys_are_not_duplicates() -> None:
    doc = load_yaml(
        "buyers:\n"
        "  - id: b\n"
        "    orders:\n"
        "      - id: o\n"
        "        vertical: v\n"
        "        pricing: &p {type: fixed, exclusive: '10'}\n"
        "      - id: o2\n"
        "        vertical: v\n"
        "        pricing: {<<: *p, exclusive: '12'}\n"
    )
    pricing = doc.buyers[0].orders[1].pricing
    assert pricing.type == "fixed"
    assert pricing.exclusive == Decimal("12.00")


@pytest.mark.parametrize("text", ["", "# nothing\n"])
def test_empty_document_is_an_error(text: str) -> None:
    with pytest.raises(ConfigError, match="the document is empty"):
        load_yaml(text)


def test_document_must_be_a_mapping() -> None:
    found = issues(["verticals"])
    assert list(found) == [""]


def test_unquoted_yaml_dates_are_read() -> None:
    doc = load_yaml(
        "buyers:\n"
        "  - id: b\n"
        "    orders:\n"
        "      - id: o\n"
        "        vertical: v\n"
        "        pricing: {type: fixed, exclusive: 10}\n"
        "        schedule: {hours: {daily: ['09:00-17:00']}, closed: [2026-12-25, '2027-01-01']}\n"
        "        filters: {all: [{field: d, op: eq, value: 2026-01-02}]}\n"
    )
    spec = doc.buyers[0].orders[0]
    assert spec.schedule is not None
    assert spec.schedule.closed == [dt.date(2026, 12, 25), dt.date(2027, 1, 1)]
    assert spec.filters is not None
    assert spec.filters.all is not None
    assert spec.filters.all[0].value == "2026-01-02"  # type: ignore[union-attr]


# --- shape errors at their YAML paths --------------------------------------------------------


def test_unknown_key() -> None:
    data = doc_with(buyers__0__orders__1__colour="red")
    found = issues(data)
    assert found["buyers[0].orders[1].colour"] == ConfigIssue(
        "buyers[0].orders[1].colour", "unknown key", "red"
    )


def test_missing_key() -> None:
    data = copy.deepcopy(BASE)
    del data["suppliers"][0]["campaigns"][0]["payout"]
    found = issues(data)
    assert found["suppliers[0].campaigns[0].payout"].msg == "required"
    assert found["suppliers[0].campaigns[0].payout"].value is None


def test_bad_slug() -> None:
    found = issues(doc_with(verticals__1__id="Pets!"))
    assert found["verticals[1].id"].value == "Pets!"
    assert "pattern" in found["verticals[1].id"].msg


def test_bad_enum_value() -> None:
    data = doc_with(
        buyers__0__orders__0__caps=[{"kind": "count", "window": "fortnight", "limit": 1}]
    )
    found = issues(data)
    assert found["buyers[0].orders[0].caps[0].window"].value == "fortnight"


def test_bad_pricing_type_points_at_the_tag() -> None:
    data = doc_with(buyers__0__orders__1__pricing={"type": "auction", "exclusive": "1"})
    found = issues(data)
    issue = found["buyers[0].orders[1].pricing.type"]
    assert issue.value == "auction"
    assert "'fixed'" in issue.msg
    assert "'bid'" in issue.msg


def test_missing_payout_model_points_at_the_tag() -> None:
    data = doc_with(suppliers__0__campaigns__0__payout={"percent": 70})
    assert issues(data)["suppliers[0].campaigns[0].payout.model"].msg == "required"


def test_error_inside_a_union_member_has_no_tag_in_its_path() -> None:
    data = doc_with(suppliers__0__campaigns__0__payout={"model": "fixed", "amount": "x", "y": 1})
    found = issues(data)
    assert set(found) == {
        "suppliers[0].campaigns[0].payout.amount",
        "suppliers[0].campaigns[0].payout.y",
    }


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("12.345", "at most two decimals"),
        ("-5", "must not be negative"),
        ("1e3", "plain decimal notation"),
        (True, "not an amount"),
        ("$12", "plain decimal notation"),
    ],
)
def test_bad_money(amount: object, words: str) -> None:
    data = doc_with(buyers__0__orders__0__pricing={"type": "fixed", "exclusive": amount})
    issue = issues(data)["buyers[0].orders[0].pricing.exclusive"]
    assert words in issue.msg
    assert issue.value == amount


def test_filter_paths_go_through_nested_groups() -> None:
    filters = {
        "all": [
            {"field": "state", "op": "in", "value": ["FL"]},
            {"any": [{"field": "credit", "op": "like", "value": "g"}]},
            "state is FL",
            {"all": [], "any": []},
        ]
    }
    found = issues(doc_with(buyers__0__orders__0__filters=filters))
    assert found["buyers[0].orders[0].filters.all[1].any[0].op"].value == "like"
    assert found["buyers[0].orders[0].filters.all[2]"].msg.startswith("expected a condition")
    assert "exactly one of 'all' or 'any'" in found["buyers[0].orders[0].filters.all[3]"].msg


def test_parse_reports_every_shape_error_at_once() -> None:
    data = doc_with(
        verticals__0__fields__2__type="number",
        suppliers__0__campaigns__0__max_sells="many",
        buyers__0__orders__1__status="on",
    )
    assert set(issues(data)) == {
        "verticals[0].fields[2].type",
        "suppliers[0].campaigns[0].max_sells",
        "buyers[0].orders[1].status",
    }


# --- compile errors at their YAML paths --------------------------------------------------------


def test_duplicate_ids() -> None:
    data = copy.deepcopy(BASE)
    data["verticals"].append({"id": "auto"})
    data["suppliers"].append(
        {
            "id": "other",
            "campaigns": [
                {"id": "acme_auto", "vertical": "auto", "payout": {"model": "fixed", "amount": 1}}
            ],
        }
    )
    data["buyers"].append(
        {
            "id": "b2",
            "orders": [{"id": "o1", "vertical": "auto", "pricing": order(BASE)["pricing"]}],
        }
    )
    found = issues(data)
    assert found["verticals[2].id"].msg == "duplicate vertical id (first at verticals[0])"
    assert found["suppliers[1].campaigns[0].id"].msg == (
        "duplicate campaign id (first at suppliers[0].campaigns[0])"
    )
    assert found["buyers[1].orders[0].id"].value == "o1"
    assert len(found) == 3


def test_unknown_vertical_references() -> None:
    data = doc_with(
        suppliers__0__campaigns__0__vertical="autos", buyers__0__orders__1__vertical="x"
    )
    found = issues(data)
    assert found["suppliers[0].campaigns[0].vertical"] == ConfigIssue(
        "suppliers[0].campaigns[0].vertical", "unknown vertical 'autos'", "autos"
    )
    assert found["buyers[0].orders[1].vertical"].msg == "unknown vertical 'x'"


def test_required_fields_must_exist_and_not_be_pii() -> None:
    data = doc_with(
        suppliers__0__campaigns__0__ping_options={
            "required_fields": ["zip", "zipcode", "phone", "zip"]
        }
    )
    found = issues(data)
    base = "suppliers[0].campaigns[0].ping_options.required_fields"
    assert found[f"{base}[1]"].msg == "unknown field of vertical 'auto'"
    assert "PII" in found[f"{base}[2]"].msg
    assert found[f"{base}[3]"].msg == "duplicate field"
    assert len(found) == 3


def test_vertical_field_rules() -> None:
    fields = [
        {"name": "kind", "type": "enum"},
        {"name": "age", "type": "integer", "min": 50, "max": 10},
        {"name": "sub_id", "type": "string"},
        {"name": "age", "type": "integer"},
        {"name": "nick", "type": "string", "min": 1, "values": ["a"]},
        {"name": "email", "type": "email", "pii": True, "ping": "required"},
        {"name": "color", "type": "enum", "values": ["red", "Red"]},
        {"name": "note", "type": "string", "max_length": 0},
    ]
    found = issues(doc_with(verticals__1__fields=fields))
    assert found["verticals[1].fields[0].values"].msg == "an enum field needs a list of values"
    assert found["verticals[1].fields[1].max"] == ConfigIssue(
        "verticals[1].fields[1].max", "must not be less than min (50)", Decimal(10)
    )
    assert "tracking field" in found["verticals[1].fields[2].name"].msg
    assert found["verticals[1].fields[3].name"].msg == (
        "duplicate field name (first at verticals[1].fields[1])"
    )
    assert found["verticals[1].fields[4].min"].msg == (
        "only integer and decimal fields take min and max"
    )
    assert found["verticals[1].fields[4].values"].msg == "only an enum field takes values"
    assert "PII" in found["verticals[1].fields[5].ping"].msg
    assert found["verticals[1].fields[6].values[1]"].value == "Red"
    assert found["verticals[1].fields[7].max_length"].value == 0
    assert len(found) == 9


def test_filter_errors_carry_the_filter_path() -> None:
    filters = {
        "all": [
            {"field": "state", "op": "in", "value": ["FL", "GA"]},
            {"field": "age", "op": "between", "value": [21, 70]},
            {
                "any": [
                    {"field": "credit", "op": "in", "value": ["good"]},
                    {"field": "insured_since", "op": "eq", "value": True},
                ]
            },
        ]
    }
    found = issues(doc_with(buyers__0__orders__0__filters=filters))
    assert list(found) == ["buyers[0].orders[0].filters.all[2].any[1].field"]
    assert found["buyers[0].orders[0].filters.all[2].any[1].field"].msg == (
        "unknown field 'insured_since'"
    )


def test_filter_value_errors_name_the_list_item() -> None:
    filters = {"any": [{"field": "state", "op": "in", "value": ["FL", "Atlantis"]}]}
    found = issues(doc_with(buyers__0__orders__1__filters=filters))
    assert "buyers[0].orders[1].filters.any[0].value[1]" in found


def test_filters_of_several_orders_are_all_reported() -> None:
    bad = {"all": [{"field": "nope", "op": "exists", "value": True}]}
    found = issues(doc_with(buyers__0__orders__0__filters=bad, buyers__0__orders__1__filters=bad))
    assert set(found) == {
        "buyers[0].orders[0].filters.all[0].field",
        "buyers[0].orders[1].filters.all[0].field",
    }


def test_geo_needs_the_vertical_fields() -> None:
    data = copy.deepcopy(BASE)
    order(data, 1).update(vertical="pets", geo={"states": ["FL"], "zip_prefixes": ["33"]})
    found = issues(data)
    assert found["buyers[0].orders[1].geo.states"].msg == "vertical 'pets' has no 'state' field"
    assert found["buyers[0].orders[1].geo.zip_prefixes"].msg == "vertical 'pets' has no 'zip' field"


def test_geo_values_are_checked() -> None:
    geo = {"states": ["FL", "Gondor"], "zips": ["33101", "3310"], "zip_prefixes": ["33", "3a"]}
    found = issues(doc_with(buyers__0__orders__0__geo=geo))
    assert set(found) == {
        "buyers[0].orders[0].geo.states[1]",
        "buyers[0].orders[0].geo.zips[1]",
        "buyers[0].orders[0].geo.zip_prefixes[1]",
    }
    assert found["buyers[0].orders[0].geo.zip_prefixes[1]"] == ConfigIssue(
        "buyers[0].orders[0].geo.zip_prefixes[1]", "must be 1 to 5 digits", "3a"
    )


def test_schedule_errors() -> None:
    schedule = {
        "timezone": "Mars/Olympus_Mons",
        "hours": {"daily": ["9-5"], "sat": ["10:00-14:00", "22:00-22:00"]},
    }
    found = issues(doc_with(buyers__0__orders__0__schedule=schedule))
    assert found["buyers[0].orders[0].schedule.timezone"].value == "Mars/Olympus_Mons"
    assert "expected HH:MM-HH:MM" in found["buyers[0].orders[0].schedule.hours.daily[0]"].msg
    assert "equal" in found["buyers[0].orders[0].schedule.hours.sat[1]"].msg
    # the daily range is reported once, not once per day
    assert len(found) == 3


@pytest.mark.parametrize("zone", ["Nowhere/City", "", "../etc/passwd", "America"])
def test_time_zones_must_be_iana_names(zone: str) -> None:
    found = issues(doc_with(buyers__0__timezone=zone, buyers__0__orders__1__timezone=zone))
    assert set(found) == {"buyers[0].timezone", "buyers[0].orders[1].timezone"}


def test_cap_errors() -> None:
    caps = [
        {"kind": "count", "window": "day", "limit": 0},
        {"kind": "count", "window": "week", "limit": 1.5},
        {"kind": "spend", "window": "month", "limit": "12.345"},
        {"kind": "spend", "window": "hour", "limit": -3},
        {"kind": "count", "window": "day", "limit": 5},
        {"kind": "count", "window": "total", "limit": "many"},
    ]
    found = issues(doc_with(buyers__0__orders__1__caps=caps))
    path = "buyers[0].orders[1].caps"
    # "many" is a shape error: reported by parse, before compile runs
    assert set(found) == {f"{path}[5].limit"}
    del caps[5]
    found = issues(doc_with(buyers__0__orders__1__caps=caps))
    assert found[f"{path}[0].limit"] == ConfigIssue(
        f"{path}[0].limit", "must be greater than 0", Decimal(0)
    )
    assert found[f"{path}[1].limit"].msg == "a count cap needs a whole number"
    assert "at most two decimals" in found[f"{path}[2].limit"].msg
    assert found[f"{path}[3].limit"].msg == "must be greater than 0"
    assert found[f"{path}[4]"].msg == "duplicate count cap per day"
    assert len(found) == 5


def test_budget_caps_are_checked_like_order_caps() -> None:
    found = issues(doc_with(buyers__0__budget=[{"kind": "spend", "window": "day", "limit": 0}]))
    assert found["buyers[0].budget[0].limit"].msg == "must be greater than 0"


#: a minimal live-bid delivery: what a bid order needs to be asked for its price
BID_DELIVERY = {
    "ping": {"url": "http://127.0.0.1:9/ping", "response": {"bid": {"json": "$.price"}}},
    "post": {"same_as": "ping", "url": "http://127.0.0.1:9/post"},
}


def test_pricing_errors() -> None:
    data = doc_with(
        buyers__0__orders__0__pricing={"type": "fixed"},
        buyers__0__orders__1__pricing={"type": "fixed", "exclusive": 0, "shared": "1"},
    )
    data["buyers"][0]["orders"] += [
        {
            "id": "o3",
            "vertical": "auto",
            "pricing": {"type": "bid", "floor": "50", "max_bid": "20", "legs": []},
            "delivery": BID_DELIVERY,
        },
        {
            "id": "o4",
            "vertical": "auto",
            "pricing": {"type": "bid", "legs": ["shared", "shared"]},
            "delivery": BID_DELIVERY,
        },
        {
            "id": "o5",
            "vertical": "auto",
            "pricing": {"type": "bid", "max_bid": 0},
            "delivery": BID_DELIVERY,
        },
        {"id": "o6", "vertical": "auto", "pricing": {"type": "fixed", "floor": "1"}},
    ]
    found = issues(data)
    # a fixed pricing does not take a floor: a shape error, reported before compile
    assert set(found) == {"buyers[0].orders[5].pricing.floor"}
    del data["buyers"][0]["orders"][5]
    found = issues(data)
    assert "needs an exclusive price" in found["buyers[0].orders[0].pricing"].msg
    assert found["buyers[0].orders[1].pricing.exclusive"].msg == "must be greater than 0"
    assert found["buyers[0].orders[2].pricing.floor"] == ConfigIssue(
        "buyers[0].orders[2].pricing.floor", "must not exceed max_bid (20.00)", Decimal("50.00")
    )
    assert found["buyers[0].orders[2].pricing.legs"].msg == "needs exclusive, shared or both"
    assert found["buyers[0].orders[3].pricing.legs[1]"].msg == "duplicate leg"
    assert found["buyers[0].orders[4].pricing.max_bid"].msg == "must be greater than 0"
    assert len(found) == 6


def test_order_ranges() -> None:
    data = copy.deepcopy(BASE)
    order(data).update(priority=-1, weight=0, dedup_days=-2)
    found = issues(data)
    assert found["buyers[0].orders[0].priority"] == ConfigIssue(
        "buyers[0].orders[0].priority", "must be at least 0", -1
    )
    assert found["buyers[0].orders[0].weight"].msg == "must be at least 1"
    assert found["buyers[0].orders[0].dedup_days"].value == -2


@pytest.mark.parametrize("percent", [0, -5, "100.5", 101])
def test_payout_percent_must_be_in_0_100(percent: object) -> None:
    data = doc_with(
        suppliers__0__campaigns__0__payout={"model": "revenue_share", "percent": percent}
    )
    issue = issues(data)["suppliers[0].campaigns[0].payout.percent"]
    assert issue.msg == "must be greater than 0 and at most 100"
    assert issue.value == Decimal(str(percent))


def test_campaign_ranges() -> None:
    data = copy.deepcopy(BASE)
    data["suppliers"][0]["campaigns"][0].update(
        max_sells=0,
        ping_ttl_seconds=0,
        ping_deadline_ms=-1,
        inbound_dedup_days=-1,
        modes=["ping_post", "ping_post"],
        ping_options={"min_buyers": 0, "min_profit_percent": 100},
    )
    data["suppliers"][0]["campaigns"].append(
        {"id": "c2", "vertical": "auto", "modes": [], "payout": {"model": "fixed", "amount": 1}}
    )
    found = issues(data)
    path = "suppliers[0].campaigns[0]"
    assert found[f"{path}.max_sells"].msg == "must be at least 1"
    assert found[f"{path}.ping_ttl_seconds"].value == 0
    assert found[f"{path}.ping_deadline_ms"].value == -1
    assert found[f"{path}.inbound_dedup_days"].msg == "must be at least 0"
    assert found[f"{path}.modes[1]"].msg == "duplicate mode"
    assert found[f"{path}.ping_options.min_buyers"].msg == "must be at least 1"
    assert found[f"{path}.ping_options.min_profit_percent"].value == Decimal(100)
    assert found["suppliers[0].campaigns[1].modes"].msg == "needs ping_post, direct_post or both"
    assert len(found) == 8


def test_many_errors_are_reported_at_once() -> None:
    data = doc_with(
        suppliers__0__campaigns__0__vertical="autos",
        buyers__0__orders__0__caps=[{"kind": "count", "window": "day", "limit": 0}],
        buyers__0__orders__1__filters={"all": [{"field": "nope", "op": "eq", "value": 1}]},
        buyers__0__orders__1__schedule={"hours": {"mon": ["25:00-26:00"]}},
    )
    with pytest.raises(ConfigError) as caught:
        compiled(data)
    error = caught.value
    assert [issue.path for issue in error.issues] == [
        "suppliers[0].campaigns[0].vertical",
        "buyers[0].orders[0].caps[0].limit",
        "buyers[0].orders[1].schedule.hours.mon[0]",
        "buyers[0].orders[1].filters.all[0].field",
    ]
    lines = str(error).splitlines()
    assert len(lines) == 4
    assert lines[0] == "suppliers[0].campaigns[0].vertical: unknown vertical 'autos' (got 'autos')"
    assert lines[1] == "buyers[0].orders[0].caps[0].limit: must be greater than 0 (got 0)"


# --- what compiles ------------------------------------------------------------------------------


def test_money_is_decimal_from_strings_and_numbers() -> None:
    data = copy.deepcopy(BASE)
    order(data)["pricing"] = {"type": "fixed", "exclusive": 25, "shared": 9.5}
    order(data, 1)["pricing"] = {"type": "bid", "legs": ["shared"], "floor": "5", "max_bid": 200}
    order(data, 1)["delivery"] = BID_DELIVERY
    data["suppliers"][0]["campaigns"][0]["payout"] = {"model": "fixed", "amount": " 12.5 "}
    config = compiled(data)
    fixed = config.orders["o1"].pricing
    assert fixed.exclusive == Decimal("25.00")
    assert str(fixed.exclusive) == "25.00"
    assert fixed.shared == Decimal("9.50")
    bid = config.orders["o2"].pricing
    assert bid.kind is PricingKind.BID
    assert bid.legs == frozenset({Leg.SHARED})
    assert (bid.floor, bid.max_bid) == (Decimal("5.00"), Decimal("200.00"))
    campaign = config.campaigns["acme_auto"]
    assert campaign.payout_model is PayoutModel.FIXED
    assert campaign.payout_value == Decimal("12.50")


def test_caps_compile_to_counts_and_cents() -> None:
    data = doc_with(
        buyers__0__budget=[{"kind": "spend", "window": "month", "limit": "10000.00"}],
        buyers__0__orders__0__caps=[
            {"kind": "count", "window": "day", "limit": 100},
            {"kind": "count", "window": "hour", "limit": "7"},
            {"kind": "spend", "window": "week", "limit": 1250.5},
        ],
    )
    config = compiled(data)
    assert config.buyers["shield"].caps == (Cap(CapKind.SPEND, CapWindow.MONTH, 1_000_000),)
    assert config.orders["o1"].caps == (
        Cap(CapKind.COUNT, CapWindow.DAY, 100),
        Cap(CapKind.COUNT, CapWindow.HOUR, 7),
        Cap(CapKind.SPEND, CapWindow.WEEK, 125_050),
    )


def test_geo_sugar_is_anded_with_filters() -> None:
    data = doc_with(
        buyers__0__orders__0__filters={"all": [{"field": "age", "op": "gte", "value": 21}]},
        buyers__0__orders__0__geo={"states": ["fl", "Georgia"], "zips": ["30301"]},
    )
    run = compiled(data).orders["o1"].filter
    assert run is not None
    assert run({"state": "FL", "zip": "30301", "age": 30}, False).passed
    assert run({"state": "GA", "zip": "30301", "age": 30}, False).passed
    assert not run({"state": "TX", "zip": "30301", "age": 30}, False).passed
    assert not run({"state": "FL", "zip": "30302", "age": 30}, False).passed
    assert not run({"state": "FL", "zip": "30301", "age": 20}, False).passed
    # a geo field absent from the lead fails only when qualifying all criteria
    assert run({"age": 30}, False).passed
    assert not run({"age": 30}, True).passed


def test_geo_zips_and_prefixes_are_alternatives() -> None:
    geo = {"zips": ["10001"], "zip_prefixes": ["331", "332"]}
    run = compiled(doc_with(buyers__0__orders__1__geo=geo)).orders["o2"].filter
    assert run is not None
    assert run({"zip": "10001"}, False).passed
    assert run({"zip": "33101"}, False).passed
    assert run({"zip": "33299"}, False).passed
    assert not run({"zip": "33301"}, False).passed


def test_geo_alone_makes_a_filter_and_no_filter_means_none() -> None:
    config = compiled(doc_with(buyers__0__orders__0__geo={"zip_prefixes": ["9"]}))
    run = config.orders["o1"].filter
    assert run is not None
    assert run({"zip": "90210"}, False).passed
    assert not run({"zip": "10001"}, False).passed
    assert config.orders["o2"].filter is None


def test_nested_filter_groups() -> None:
    filters = {
        "all": [
            {"field": "state", "op": "in", "value": ["FL", "GA"]},
            {"field": "age", "op": "between", "value": [21, 70]},
            {
                "any": [
                    {"field": "credit", "op": "in", "value": ["excellent", "good"]},
                    {"field": "insured", "op": "eq", "value": True},
                ]
            },
        ]
    }
    run = compiled(doc_with(buyers__0__orders__0__filters=filters)).orders["o1"].filter
    assert run is not None
    assert run({"state": "FL", "age": 30, "credit": "fair", "insured": True}, False).passed
    verdict = run({"state": "FL", "age": 30, "credit": "fair", "insured": False}, False)
    assert not verdict.passed
    assert verdict.reason


def test_schedule_compiles_to_weekly_intervals() -> None:
    schedule = {
        "hours": {"daily": ["09:00-17:00"], "sat": ["10:00-14:00", "22:00-02:00"], "sun": []},
        "closed": ["2026-12-25"],
    }
    result = compiled(doc_with(buyers__0__orders__0__schedule=schedule)).orders["o1"].schedule
    assert result is not None
    assert result.intervals == (
        *(WeeklyInterval(day, 540, 1020) for day in range(5)),
        WeeklyInterval(5, 600, 840),
        WeeklyInterval(5, 1320, 1560),
    )
    assert result.closed_dates == frozenset({dt.date(2026, 12, 25)})


def test_order_time_zone_defaults() -> None:
    data = copy.deepcopy(BASE)
    data["buyers"][0]["orders"] = [
        {**order(BASE), "id": "plain"},
        {**order(BASE), "id": "sched", "schedule": {"timezone": "America/Chicago"}},
        {
            **order(BASE),
            "id": "own",
            "timezone": "America/Denver",
            "schedule": {"timezone": "America/Chicago"},
        },
        {**order(BASE), "id": "own_sched", "timezone": "America/Denver", "schedule": {}},
    ]
    orders = compiled(data).orders
    assert orders["plain"].timezone == "America/New_York"  # the buyer's
    assert orders["plain"].schedule is None
    assert orders["sched"].timezone == "America/Chicago"  # the schedule's
    assert orders["own"].timezone == "America/Denver"
    assert orders["own"].schedule is not None
    assert orders["own"].schedule.timezone == "America/Chicago"
    # a schedule without a zone takes the order's, else the buyer's
    assert orders["own_sched"].schedule is not None
    assert orders["own_sched"].schedule.timezone == "America/Denver"
    assert orders["own_sched"].schedule.intervals == ()


def test_order_and_campaign_fields_compile() -> None:
    data = copy.deepcopy(BASE)
    order(data).update(
        status="paused",
        priority=3,
        weight=5,
        dedup_days=30,
        test_mode=True,
        delivery={
            "post": {"url": "http://127.0.0.1:9/post", "headers": {"X-Key": {"secret": "k"}}}
        },
    )
    data["suppliers"][0]["campaigns"][0].update(
        modes=["ping_post", "direct_post"],
        max_sells=3,
        rank_by="priority",
        ping_ttl_seconds=120,
        ping_deadline_ms=800,
        wait_for_delivery=False,
        ping_options={"min_revenue": "5", "min_profit_percent": 12.5, "qualify_all_criteria": True},
    )
    config = compiled(data)
    o1 = config.orders["o1"]
    assert (o1.status, o1.priority, o1.weight, o1.dedup_days, o1.test_mode) == (
        "paused",
        3,
        5,
        30,
        True,
    )
    assert o1.delivery == {
        "post": {"url": "http://127.0.0.1:9/post", "headers": {"X-Key": {"secret": "k"}}}
    }
    assert config.deliveries["o1"].ping is None
    assert config.deliveries["o1"].post.method == "POST"
    assert config.orders["o2"].delivery is None
    assert "o2" not in config.deliveries
    campaign = config.campaigns["acme_auto"]
    assert campaign.modes == frozenset({"ping_post", "direct_post"})
    assert campaign.payout_model is PayoutModel.REVENUE_SHARE
    assert campaign.payout_value == Decimal(70)
    assert (campaign.max_sells, campaign.rank_by) == (3, "priority")
    assert (campaign.ping_ttl_seconds, campaign.ping_deadline_ms) == (120, 800)
    assert campaign.wait_for_delivery is False
    options = campaign.ping_options
    assert options.min_revenue == Decimal("5.00")
    assert options.min_profit == Decimal("0.00")
    assert options.min_profit_percent == Decimal("12.5")
    assert options.qualify_all_criteria is True


def test_vertical_fields_compile() -> None:
    vertical = compiled(BASE).verticals["auto"]
    age = vertical.field("age")
    assert age is not None
    assert (age.type, age.min, age.max) == (FieldType.INTEGER, Decimal(16), Decimal(100))
    credit = vertical.field("credit")
    assert credit is not None
    assert credit.values == ("excellent", "good", "fair")
    assert vertical.field("sub_id") is not None  # inherited tracking field
    assert vertical.name == "Auto"


# --- canonical form ------------------------------------------------------------------------------


def test_canonical_form_writes_money_as_strings_and_leaves_defaults_out() -> None:
    data = copy.deepcopy(BASE)
    order(data).update(
        caps=[
            {"kind": "spend", "window": "day", "limit": 50},
            {"kind": "count", "window": "day", "limit": "10"},
        ],
        schedule={"hours": {"mon": ["09:00-17:00"]}, "closed": ["2026-12-25"]},
    )
    spec = canonical(parse_config(data).buyers[0].orders[0])
    assert spec == {
        "id": "o1",
        "vertical": "auto",
        "pricing": {"type": "fixed", "exclusive": "25.00"},
        "caps": [
            {"kind": "spend", "window": "day", "limit": "50.00"},
            {"kind": "count", "window": "day", "limit": 10},
        ],
        "schedule": {"hours": {"mon": ["09:00-17:00"]}, "closed": ["2026-12-25"]},
    }
    payout = canonical(parse_config(data).suppliers[0].campaigns[0])["payout"]
    assert payout == {"model": "revenue_share", "percent": 70}


def test_dump_yaml_reads_back_to_the_same_document() -> None:
    doc = load_yaml(example_text("marketplace"))
    text = dump_yaml(doc)
    again = load_yaml(text)
    assert again == doc
    assert dump_yaml(again) == text
    assert "exclusive: '25.00'" in text
    assert "values: [excellent, good, fair, poor]" in text


def test_exists_in_nested_groups() -> None:
    filters = {"any": [{"all": [{"field": "zip", "op": "exists", "value": True}]}]}
    run = compiled(doc_with(buyers__0__orders__0__filters=filters)).orders["o1"].filter
    assert run is not None
    assert run({"zip": "10001"}, False).passed
    assert not run({}, False).passed


def test_a_bid_order_needs_a_ping_step() -> None:
    data = copy.deepcopy(BASE)
    order(data)["pricing"] = {"type": "bid"}
    found = issues(data)
    assert found["buyers[0].orders[0].delivery.ping"].msg == (
        "a bid order needs a ping step to ask for its price"
    )


def test_delivery_errors_name_their_yaml_path() -> None:
    data = copy.deepcopy(BASE)
    order(data)["pricing"] = {"type": "bid"}
    order(data)["delivery"] = {
        "ping": {
            "url": "http://127.0.0.1:9/ping",
            "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "tel"}]},
            "response": {"bid": {"json": "$.price"}},
        },
        "post": {"same_as": "ping"},
    }
    found = issues(data)
    assert "buyers[0].orders[0].delivery.ping.body.fields[1].from" in found
    assert "PII" in found["buyers[0].orders[0].delivery.ping.body.fields[1].from"].msg
