"""Endpoint configs from YAML, JSON and mappings; mistakes fail with their path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from pingtree.mockbuyer import (
    EndpointConfig,
    FixedLatency,
    Hang,
    LognormalLatency,
    ServerError,
    UniformBid,
    load_config,
)

YAML = """
seed: 7
endpoints:
  acme:
    latency: {kind: lognormal, median_ms: 80, p99_ms: 900}
    bid: {kind: uniform, min: "5.00", max: "40.00"}
    bid_format: string
    ping_accept_rate: 0.7
    format: xml
    fields: {status: result, accepted: "Y", rejected: "N", token: lead_id}
  flaky:
    latency: 20
    misbehaviour:
      - {kind: hang, rate: 0.05, on: ping}
      - {kind: error, status: 503, rate: 0.05}
"""


def test_yaml_file(tmp_path: Path):
    path = tmp_path / "buyers.yaml"
    path.write_text(YAML)

    config = load_config(path)

    assert config.seed == 7
    acme, flaky = config.endpoints["acme"], config.endpoints["flaky"]
    assert acme.latency == LognormalLatency(median_ms=80, p99_ms=900)
    assert acme.bid == UniformBid(min=Decimal("5.00"), max=Decimal("40.00"))
    assert (acme.fields.status, acme.fields.accepted, acme.fields.token) == (
        "result",
        "Y",
        "lead_id",
    )
    assert flaky.latency == FixedLatency(ms=20)
    assert flaky.misbehaviour == [Hang(rate=0.05, on="ping"), ServerError(status=503, rate=0.05)]


def test_json_file_with_endpoints_only(tmp_path: Path):
    path = tmp_path / "buyers.json"
    path.write_text('{"a": {"format": "form"}, "b": {}}')

    config = load_config(str(path))

    assert config.seed == 0
    assert config.endpoints == {"a": EndpointConfig(format="form"), "b": EndpointConfig()}


def test_single_misbehaviour_may_be_a_mapping():
    config = load_config({"h": {"misbehaviour": {"kind": "hang"}}})

    assert config.endpoints["h"].misbehaviour == [Hang()]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"a": {"colour": "red"}}, "endpoints.a.colour"),
        ({"a": {"ping_accept_rate": 1.5}}, "endpoints.a.ping_accept_rate"),
        ({"a": {"latency": {"kind": "uniform", "min_ms": 9, "max_ms": 1}}}, "endpoints.a.latency"),
        ({"a": {"bid": {"kind": "fixed", "amount": "-1"}}}, "endpoints.a.bid.fixed.amount"),
        ({"a": {"misbehaviour": [{"kind": "explode"}]}}, "endpoints.a.misbehaviour.0"),
        ({"a": {"reject_status": 500}}, "endpoints.a.reject_status"),
        (
            {
                "a": {
                    "misbehaviour": [{"kind": "hang", "rate": 0.6}, {"kind": "reset", "rate": 0.6}]
                }
            },
            "endpoints.a",
        ),
        ({"a/b": {}}, ""),
    ],
)
def test_mistakes_are_refused_with_their_path(data: dict[str, object], where: str):
    with pytest.raises(ValidationError) as caught:
        load_config(data)

    locations = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert any(loc.startswith(where) for loc in locations), locations


def test_configs_are_frozen():
    config = EndpointConfig()

    with pytest.raises(ValidationError):
        config.format = "xml"  # type: ignore[misc]


def test_not_a_mapping_is_refused(tmp_path: Path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")

    with pytest.raises(ValueError, match="mapping"):
        load_config(path)
