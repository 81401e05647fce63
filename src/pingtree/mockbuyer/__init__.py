"""A configurable buyer endpoint on loopback for the demo, the tests and the benchmark.

``MockBuyer`` serves many named buyers (``/<name>/ping``, ``/<name>/post``) from one aiohttp
server; each is an ``EndpointConfig`` (latency, bid, accept rates, answer format and field
names, rejection style, misbehaviour) and every request it receives is recorded.
"""

from pingtree.mockbuyer.config import (
    Bid,
    Doctype,
    EndpointConfig,
    EntityBomb,
    FixedBid,
    FixedLatency,
    Garbage,
    Hang,
    Huge,
    Latency,
    LognormalLatency,
    Misbehaviour,
    MockBuyerConfig,
    NoBid,
    Redirect,
    Reset,
    ResponseFields,
    ServerError,
    SlowDrip,
    UniformBid,
    UniformLatency,
    load_config,
)
from pingtree.mockbuyer.server import MockBuyer, ReceivedRequest, run_mockbuyer, serve_mockbuyer

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
    "MockBuyer",
    "MockBuyerConfig",
    "NoBid",
    "ReceivedRequest",
    "Redirect",
    "Reset",
    "ResponseFields",
    "ServerError",
    "SlowDrip",
    "UniformBid",
    "UniformLatency",
    "load_config",
    "run_mockbuyer",
    "serve_mockbuyer",
]
