"""Assumed bids for a replay (issue 17): what a bid order the stored pings never asked (a
buyer new in the draft) is taken to answer, instead of an unknown bid.

A draft may carry, beside its configuration, a ``replay`` section that only a replay
reads (``pingtree apply`` refuses it)::

    replay:
      assumed_bids:
        newcomer_live: "22.00"                          # the same bid on every ping
        other_live: {uniform: ["10.00", "30.00"]}       # drawn per ping, to the cent
        third_live: {normal: {mean: "20.00", sd: "4.00"}, no_bid: 0.2}

The draws are seeded by the ping's id and the order's, so a replay gives the same bids
every time, whatever else the draft changes. ``no_bid`` is the share of pings the order
answers no bid. An assumed bid is judged by the order's floor and ``max_bid`` as a stored
one is.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.config.parse import read_yaml
from pingtree.domain.money import CENT

__all__ = ["ASSUMED", "AssumedBid", "split_draft"]

#: the reason an assumed bid's line gives
ASSUMED = "assumed (replay.assumed_bids)"
_PATH = "replay.assumed_bids"
_MAX = Decimal("100000")


@dataclass(frozen=True)
class AssumedBid:
    """One order's assumed bid: ``low`` when ``high`` is None (fixed), uniform on
    ``[low, high]``, or normal with mean ``low`` and deviation ``high`` (``normal``)."""

    low: Decimal
    high: Decimal | None = None
    normal: bool = False
    no_bid: float = 0.0

    def draw(self, ping_id: str, order_id: str) -> Decimal | None:
        """The bid on this ping (``None``: no bid), the same on every replay."""
        if self.high is None and not self.no_bid:
            return self.low
        digest = hashlib.sha256(f"{ping_id}\x00{order_id}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        if rng.random() < self.no_bid:
            return None
        if self.high is None:
            return self.low
        if self.normal:
            value = Decimal(repr(rng.gauss(float(self.low), float(self.high))))
        else:
            value = self.low + (self.high - self.low) * Decimal(repr(rng.random()))
        value = value.quantize(CENT)
        return value if value > 0 else None


def split_draft(text: str) -> tuple[object, Mapping[str, AssumedBid]]:
    """A draft's YAML as its configuration's data and its assumed bids. Raises
    ``ConfigError`` naming ``replay.…`` paths."""
    data = read_yaml(text)
    if not isinstance(data, dict) or "replay" not in data:
        return data, {}
    data = dict(data)
    section = data.pop("replay")
    if not isinstance(section, dict) or set(section) - {"assumed_bids"}:
        raise ConfigError([ConfigIssue("replay", "only assumed_bids may be set", section)])
    bids = section.get("assumed_bids") or {}
    if not isinstance(bids, dict):
        raise ConfigError([ConfigIssue(_PATH, "a mapping of order ids to bids", bids)])
    found: dict[str, AssumedBid] = {}
    issues: list[ConfigIssue] = []
    for order_id, spec in bids.items():
        try:
            found[str(order_id)] = _assumed(spec)
        except ValueError as error:
            issues.append(ConfigIssue(f"{_PATH}.{order_id}", str(error), spec))
    if issues:
        raise ConfigError(issues)
    return data, found


def _assumed(spec: Any) -> AssumedBid:
    if not isinstance(spec, dict):
        return AssumedBid(_money(spec))
    spec = dict(spec)
    no_bid = spec.pop("no_bid", 0)
    if isinstance(no_bid, bool) or not isinstance(no_bid, int | float) or not 0 <= no_bid <= 1:
        raise ValueError("no_bid: a share from 0 to 1")
    kinds = set(spec)
    if kinds == {"fixed"}:
        return AssumedBid(_money(spec["fixed"]), no_bid=float(no_bid))
    if kinds == {"uniform"}:
        bounds = spec["uniform"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ValueError("uniform: [low, high]")
        low, high = _money(bounds[0]), _money(bounds[1])
        if high < low:
            raise ValueError("uniform: low must not be above high")
        return AssumedBid(low, high, no_bid=float(no_bid))
    if kinds == {"normal"}:
        shape = spec["normal"]
        if not isinstance(shape, dict) or set(shape) != {"mean", "sd"}:
            raise ValueError("normal: {mean, sd}")
        return AssumedBid(_money(shape["mean"]), _money(shape["sd"]), True, float(no_bid))
    raise ValueError("a price, or one of fixed, uniform or normal (and no_bid)")


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError('a price such as "20.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError('a price such as "20.00"') from None
    if not amount.is_finite() or amount < 0 or amount > _MAX or amount != amount.quantize(CENT):
        raise ValueError("a price from 0.00 to 100000.00, to the cent")
    return amount
