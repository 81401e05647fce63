"""How each mock buyer endpoint behaves: pydantic models, loadable from YAML or JSON.

A file is either ``{seed: 7, endpoints: {name: EndpointConfig, ...}}`` or just the
``{name: EndpointConfig}`` mapping. Every model forbids unknown keys, so a typo fails loudly.

Example::

    seed: 7
    endpoints:
      acme:                        # /acme/ping and /acme/post
        latency: {kind: lognormal, median_ms: 80, p99_ms: 900}
        bid: {kind: uniform, min: "5.00", max: "40.00"}
        bid_format: string         # "12.50" rather than 12.50
        ping_accept_rate: 0.7
        format: xml
        fields: {status: result, accepted: "Y", rejected: "N", token: lead_id}
      flaky:
        latency: 20                # a number is a fixed latency in ms
        misbehaviour:
          - {kind: hang, rate: 0.05, on: ping}
          - {kind: error, status: 503, rate: 0.05}
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "Bid",
    "Doctype",
    "EndpointConfig",
    "EntityBomb",
    "FixedBid",
    "FixedLatency",
    "Garbage",
    "Hang",
    "Huge",
    "Latency",
    "LognormalLatency",
    "Misbehaviour",
    "MockBuyerConfig",
    "NoBid",
    "Redirect",
    "Reset",
    "ResponseFields",
    "ServerError",
    "SlowDrip",
    "UniformBid",
    "UniformLatency",
    "load_config",
]

Scalar = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- latency ------------------------------------------------------------------------------


class FixedLatency(_Model):
    kind: Literal["fixed"] = "fixed"
    ms: float = Field(default=0.0, ge=0)


class UniformLatency(_Model):
    kind: Literal["uniform"] = "uniform"
    min_ms: float = Field(ge=0)
    max_ms: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> UniformLatency:
        if self.min_ms > self.max_ms:
            raise ValueError("min_ms must not exceed max_ms")
        return self


class LognormalLatency(_Model):
    """A long right tail, like real buyers: half the answers under ``median_ms``, 1 % over
    ``p99_ms``; ``max_ms`` cuts the tail."""

    kind: Literal["lognormal"] = "lognormal"
    median_ms: float = Field(gt=0)
    p99_ms: float = Field(gt=0)
    max_ms: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LognormalLatency:
        if self.p99_ms < self.median_ms:
            raise ValueError("p99_ms must not be below median_ms")
        return self


def _number_is_fixed(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"kind": "fixed", "ms": value}
    return value


Latency = Annotated[
    FixedLatency | UniformLatency | LognormalLatency,
    Field(discriminator="kind"),
    BeforeValidator(_number_is_fixed),
]


# -- bid ----------------------------------------------------------------------------------


class FixedBid(_Model):
    kind: Literal["fixed"] = "fixed"
    amount: Decimal = Field(ge=0)


class UniformBid(_Model):
    kind: Literal["uniform"] = "uniform"
    min: Decimal = Field(ge=0)
    max: Decimal = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> UniformBid:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class NoBid(_Model):
    """The ping answer carries no price (a fixed-price buyer that only says yes or no)."""

    kind: Literal["none"] = "none"


Bid = Annotated[FixedBid | UniformBid | NoBid, Field(discriminator="kind")]


# -- misbehaviour -------------------------------------------------------------------------


class _Fault(_Model):
    #: share of the requests (of the kinds in ``on``) that misbehave this way
    rate: float = Field(default=1.0, ge=0, le=1)
    on: Literal["ping", "post", "both"] = "both"

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the key ``on`` as the boolean true
        if isinstance(data, dict) and True in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data


class Hang(_Fault):
    """Read the request, then never answer."""

    kind: Literal["hang"] = "hang"


class Reset(_Fault):
    """Read the request, then reset the TCP connection (RST, no answer)."""

    kind: Literal["reset"] = "reset"


class Garbage(_Fault):
    """A 200 whose body is truncated JSON or XML (per ``format``) under the right type."""

    kind: Literal["garbage"] = "garbage"


class Huge(_Fault):
    """A 200 streaming ``bytes`` of padding; ``declare_length`` sends a Content-Length."""

    kind: Literal["huge"] = "huge"
    bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    declare_length: bool = False


class EntityBomb(_Fault):
    """A small XML document whose nested entities expand to gigabytes (billion laughs)."""

    kind: Literal["entity_bomb"] = "entity_bomb"


class Doctype(_Fault):
    """An XML answer with a DOCTYPE declaring an external entity (XXE on /etc/passwd)."""

    kind: Literal["doctype"] = "doctype"


class SlowDrip(_Fault):
    """The normal answer, ``chunk_bytes`` at a time every ``interval_ms``."""

    kind: Literal["slow_drip"] = "slow_drip"
    interval_ms: float = Field(default=100.0, ge=0)
    chunk_bytes: int = Field(default=1, ge=1)


class ServerError(_Fault):
    kind: Literal["error"] = "error"
    status: int = Field(default=500, ge=500, le=599)
    body: str = "Internal Server Error"


class Redirect(_Fault):
    kind: Literal["redirect"] = "redirect"
    status: Literal[301, 302, 303, 307, 308] = 302
    location: str = "http://127.0.0.1:9/elsewhere"


Misbehaviour = Annotated[
    Hang | Reset | Garbage | Huge | EntityBomb | Doctype | SlowDrip | ServerError | Redirect,
    Field(discriminator="kind"),
]


def _one_is_a_list(value: object) -> object:
    return [value] if isinstance(value, Mapping) else value


# -- response -----------------------------------------------------------------------------


class ResponseFields(_Model):
    """The names the buyer uses in its answers; ``None`` leaves the field out. A dotted
    name nests in JSON and XML (``result.price``)."""

    status: str | None = "status"
    accepted: Scalar = "success"
    rejected: Scalar = "failure"
    price: str | None = "price"
    #: the buyer's ping id, returned by an accepted ping
    token: str | None = "ping_id"
    redirect_url: str | None = "redirect_url"
    reason: str | None = "reason"
    #: the buyer's lead id, returned by an accepted post
    lead_id: str | None = "lead_id"
    #: what the buyer read from a post, with ``echo_lead`` (the name may be ``reason``'s)
    echo: str | None = "echo"


class EndpointConfig(_Model):
    """One buyer: ``/<name>/ping`` and ``/<name>/post`` (``/<name>/post/<token>``)."""

    latency: Latency = FixedLatency()
    bid: Bid = FixedBid(amount=Decimal("10.00"))
    bid_format: Literal["number", "string"] = "number"
    bid_decimals: int = Field(default=2, ge=0, le=6)
    #: a declined ping is answered as an accepted one bidding 0 (no token)
    decline_as_zero: bool = False
    ping_accept_rate: float = Field(default=1.0, ge=0, le=1)
    post_accept_rate: float = Field(default=1.0, ge=0, le=1)

    format: Literal["json", "xml", "form", "text"] = "json"
    fields: ResponseFields = ResponseFields()
    #: constant fields added to every answer
    extra: dict[str, Scalar] = Field(default_factory=dict)
    xml_root: str = "response"
    #: text answers: a ``string.Template`` over status, price, token, redirect_url,
    #: reason, lead_id, echo (absent ones are empty)
    text_template: str = "$status|$price|$token|$redirect_url|$reason"
    #: ``{token}`` is replaced by the buyer's ping id; ``None`` sends none
    redirect_url: str | None = "https://buyer.invalid/thanks/{token}"
    accept_status: int = Field(default=200, ge=200, le=299)
    #: a rejection is a 200 with a failure body, a ``reject_status`` 4xx, or a 404
    reject_style: Literal["body", "4xx", "404"] = "body"
    reject_status: int = Field(default=400, ge=400, le=499)
    reject_reason: str = "declined"
    #: a post's answer, accepted or rejected, repeats the values the buyer read from it
    #: (JSON leaves, XML texts, form and query values) in the ``echo`` field, as buyers
    #: that confirm what they got do: the lead's personal data comes back in the answer
    echo_lead: bool = False

    #: a post must carry a token this endpoint's ping issued, else it is rejected
    check_token: bool = True
    token_in: Literal["body", "query", "header", "path"] = "body"
    #: the token's name in the post (a dotted path in a JSON body)
    token_name: str = "ping_id"
    single_use_tokens: bool = False

    #: gzip every answer (Content-Encoding: gzip)
    gzip: bool = False
    misbehaviour: Annotated[list[Misbehaviour], BeforeValidator(_one_is_a_list)] = Field(
        default_factory=list
    )
    #: overrides the server's seed for this endpoint
    seed: int | None = None

    @model_validator(mode="after")
    def _rates(self) -> EndpointConfig:
        for kind in ("ping", "post"):
            total = sum(m.rate for m in self.misbehaviour if m.on in (kind, "both"))
            if total > 1 + 1e-9:
                raise ValueError(f"misbehaviour rates on {kind} add up to {total:g} > 1")
        return self


class MockBuyerConfig(_Model):
    endpoints: dict[str, EndpointConfig]
    seed: int = 0

    @model_validator(mode="after")
    def _names(self) -> MockBuyerConfig:
        for name in self.endpoints:
            if not name or "/" in name:
                raise ValueError(f"endpoint name {name!r} must be non-empty without '/'")
        return self


def load_config(source: str | Path | Mapping[str, Any] | MockBuyerConfig) -> MockBuyerConfig:
    """A YAML or JSON file (by path), or an already-parsed mapping, as a config.

    Raises ``pydantic.ValidationError`` (with the path of each bad key) or ``OSError``."""
    if isinstance(source, MockBuyerConfig):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        raw = path.read_bytes()
        data = orjson.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    else:
        data = source
    if not isinstance(data, Mapping):
        raise ValueError("a mock buyer config is a mapping")
    if isinstance(data.get("endpoints"), Mapping):
        return MockBuyerConfig.model_validate(data)
    return MockBuyerConfig.model_validate({"endpoints": data})
