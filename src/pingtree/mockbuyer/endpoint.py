"""One mock buyer endpoint's behaviour: its seeded draws, its tokens, its answers."""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qs, parse_qsl

import orjson
from aiohttp import web
from lxml import etree

from pingtree.mockbuyer.config import (
    EndpointConfig,
    FixedBid,
    FixedLatency,
    Misbehaviour,
    NoBid,
    UniformLatency,
)
from pingtree.mockbuyer.render import CONTENT_TYPES, Answer, compile_renderer

__all__ = ["Endpoint", "Kind", "latency_sampler", "received_values"]

Kind = Literal["ping", "post"]

#: tokens remembered per endpoint; the oldest are forgotten past this (benchmark runs)
_MAX_TOKENS = 1_000_000
_Z99 = 2.3263478740408408  # the standard normal's 99th percentile


class Endpoint:
    """One endpoint's compiled config and state: its RNG, tokens and counters."""

    def __init__(
        self, config: EndpointConfig, seed: int | str, tokens: OrderedDict[str, bool]
    ) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.tokens = tokens  # token -> used by a post
        self.render = compile_renderer(config)
        self.content_type = CONTENT_TYPES[config.format]
        self.faults: dict[str, list[Misbehaviour]] = {
            kind: [m for m in config.misbehaviour if m.on in (kind, "both") and m.rate > 0]
            for kind in ("ping", "post")
        }
        self.delay = latency_sampler(config, self.rng)
        self.quantum = Decimal(1).scaleb(-config.bid_decimals)
        self.zero = f"{Decimal(0):.{config.bid_decimals}f}"
        self.leads = 0

    def fault(self, kind: Kind) -> Misbehaviour | None:
        faults = self.faults[kind]
        if not faults:
            return None  # no draw: a well-behaved endpoint's answers don't depend on faults
        roll = self.rng.random()
        for fault in faults:
            if roll < fault.rate:
                return fault
            roll -= fault.rate
        return None

    def ping(self) -> tuple[int, Answer]:
        config = self.config
        fields = config.fields
        if self.rng.random() < config.ping_accept_rate:
            token = f"{self.rng.getrandbits(64):016x}"
            self.tokens[token] = False
            if len(self.tokens) > _MAX_TOKENS:
                self.tokens.popitem(last=False)
            return config.accept_status, {
                "status": fields.accepted,
                "price": self.bid(),
                "token": token,
            }
        if config.decline_as_zero:
            return config.accept_status, {"status": fields.accepted, "price": self.zero}
        return self.reject(config.reject_reason)

    def post(
        self, request: web.BaseRequest, body: bytes, path_token: str | None
    ) -> tuple[int, Answer]:
        status, answer = self._post(request, body, path_token)
        if self.config.echo_lead:
            read = received_values(request.content_type, request.query_string, body)
            answer = {**answer, "echo": " | ".join(read)}
        return status, answer

    def _post(
        self, request: web.BaseRequest, body: bytes, path_token: str | None
    ) -> tuple[int, Answer]:
        config = self.config
        token = None
        if config.check_token:
            token = find_token(config, request, body, path_token)
            if token is None or token not in self.tokens:
                return self.reject("unknown ping id")
            if self.tokens[token] and config.single_use_tokens:
                return self.reject("duplicate ping id")
            self.tokens[token] = True
        if self.rng.random() >= config.post_accept_rate:
            return self.reject(config.reject_reason)
        self.leads += 1
        lead_id = f"L{self.leads:08d}"
        redirect = config.redirect_url
        if redirect is not None:
            redirect = redirect.replace("{token}", token or lead_id)
        return config.accept_status, {
            "status": config.fields.accepted,
            "lead_id": lead_id,
            "redirect_url": redirect,
        }

    def reject(self, reason: str) -> tuple[int, Answer]:
        config = self.config
        status = {"body": 200, "4xx": config.reject_status, "404": 404}[config.reject_style]
        return status, {"status": config.fields.rejected, "reason": reason}

    def bid(self) -> str | None:
        bid = self.config.bid
        if isinstance(bid, NoBid):
            return None
        if isinstance(bid, FixedBid):
            amount = bid.amount
        else:
            amount = bid.min + (bid.max - bid.min) * Decimal(self.rng.random())
        return f"{amount.quantize(self.quantum):f}"


def latency_sampler(config: EndpointConfig, rng: random.Random) -> Callable[[], float]:
    """A function drawing one latency in seconds."""
    latency = config.latency
    if isinstance(latency, FixedLatency):
        seconds = latency.ms / 1000
        return lambda: seconds
    if isinstance(latency, UniformLatency):
        low, high = latency.min_ms / 1000, latency.max_ms / 1000
        return lambda: rng.uniform(low, high)
    mu = math.log(latency.median_ms / 1000)
    sigma = (math.log(latency.p99_ms) - math.log(latency.median_ms)) / _Z99
    cap = latency.max_ms / 1000 if latency.max_ms is not None else math.inf
    return lambda: min(rng.lognormvariate(mu, sigma), cap)


def find_token(
    config: EndpointConfig, request: web.BaseRequest, body: bytes, path_token: str | None
) -> str | None:
    name = config.token_name
    where = config.token_in
    if where == "path":
        return path_token
    if where == "query":
        return request.query.get(name)
    if where == "header":
        return request.headers.get(name)
    ctype = request.content_type
    try:
        if "json" in ctype:
            value: Any = orjson.loads(body)
            for key in name.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            return None if value is None or isinstance(value, dict | list) else str(value)
        if "xml" in ctype:
            root = etree.fromstring(body, _xml_parser())
            found = root.find(".//" + name.split(".")[-1])
            return found.text if found is not None else None
        values = parse_qs(body.decode("utf-8", "replace")).get(name)
        return values[0] if values else None
    except (ValueError, etree.XMLSyntaxError):  # orjson.JSONDecodeError is a ValueError
        return None


def received_values(ctype: str, query_string: str, body: bytes) -> list[str]:
    """The values a buyer reads from a request: its query's, then its body's by content
    type ``ctype`` (JSON leaves, XML texts and attributes, form values; an XML document
    carried in a form field is read too; text as it is)."""
    values = [v for _, v in parse_qsl(query_string, keep_blank_values=True)]
    text = body.decode("utf-8", "replace")
    if not body:
        return values
    try:
        if "json" in ctype:
            values += _json_leaves(orjson.loads(body))
        elif "xml" in ctype:
            values += _xml_values(body)
        elif "form" in ctype:
            for _, value in parse_qsl(text, keep_blank_values=True):
                values += _xml_values(value.encode()) if value.startswith("<") else [value]
        else:
            values.append(text)
    except (ValueError, etree.XMLSyntaxError):  # orjson.JSONDecodeError is a ValueError
        values.append(text)
    return values


def _json_leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _json_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _json_leaves(item)]
    return [] if value is None else [str(value)]


def _xml_values(document: bytes) -> list[str]:
    root = etree.fromstring(document, _xml_parser())
    values: list[str] = []
    for element in root.iter():
        values += [str(v) for v in element.attrib.values()]
        if element.text and element.text.strip():
            values.append(element.text)
    return values


def _xml_parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
