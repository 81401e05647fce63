"""A campaign as the domain sees it: a supplier's inbound channel for one vertical, with
its payout, ping options, ranking, deadlines, duplicate-ping cache, rate limits, quality
steps and hosted forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from pingtree.domain.forms import HostedForm
from pingtree.domain.inbound import InboundProfile
from pingtree.domain.quality_steps import QualityStep
from pingtree.domain.rate_limits import RateLimits

__all__ = ["Campaign", "PayoutModel", "PingDedup", "PingOptions", "RankBy", "RepeatAnswer"]


class PayoutModel(StrEnum):
    REVENUE_SHARE = "revenue_share"
    FIXED = "fixed"


class RankBy(StrEnum):
    PRICE = "price"
    PRIORITY = "priority"


@dataclass(frozen=True, slots=True)
class PingOptions:
    min_revenue: Decimal = Decimal("0.00")
    #: no sale at a loss unless configured otherwise
    min_profit: Decimal = Decimal("0.00")
    #: profit ÷ revenue, in percent
    min_profit_percent: Decimal | None = None
    min_buyers: int = 1
    required_fields: tuple[str, ...] = ()
    qualify_all_criteria: bool = False


class RepeatAnswer(StrEnum):
    """What a repeated ping gets within its campaign's dedup window (``domain.ping_dedup``)."""

    #: the first ping's answer again: same ping id, same bid (no buyer is asked again)
    FIRST_ANSWER = "first_answer"
    #: ``rejected`` with reason ``duplicate``
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class PingDedup:
    """A campaign's duplicate-ping cache: pings with one fingerprint within
    ``window_seconds`` are one consumer's."""

    window_seconds: int
    on_repeat: RepeatAnswer = RepeatAnswer.FIRST_ANSWER
    #: the ping fields the fingerprint reads; empty: every non-PII field of the vertical's
    #: own (tracking fields left out)
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    supplier_id: str
    vertical_id: str
    name: str
    #: ``ping_post`` and/or ``direct_post``
    modes: frozenset[str]
    payout_model: PayoutModel
    #: percent of revenue for ``revenue_share``; an amount for ``fixed``
    payout_value: Decimal
    ping_options: PingOptions = field(default_factory=PingOptions)
    max_sells: int = 1
    rank_by: RankBy = RankBy.PRICE
    ping_ttl_seconds: int = 300
    ping_deadline_ms: int = 1000
    wait_for_delivery: bool = True
    #: with ``wait_for_delivery``: past this, the seller is answered ``pending``
    post_deadline_ms: int = 15_000
    #: the conversion postback: a URL template with macros (``domain.postbacks``), sent on
    #: the lead's final answer and on an approved return
    postback_url: str | None = None
    #: ``GET`` (the URL alone) or ``POST`` (the lead's answer as JSON too)
    postback_method: str = "GET"
    test_mode: bool = False
    active: bool = True
    #: reject a lead whose phone or email any supplier sold us within this many days
    inbound_dedup_days: int = 0
    #: an approved return charges the supplier's payout back
    charge_back_returns: bool = True
    #: the seller's own formats it may post in (``domain.inbound``), besides our envelope
    inbound: tuple[InboundProfile, ...] = ()
    #: quality steps before the auction, in order (its own, else its vertical's)
    steps: tuple[QualityStep, ...] = ()
    #: limits on all the campaign's keys together, and on each key (``domain.rate_limits``)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    key_rate_limits: RateLimits = field(default_factory=RateLimits)
    #: a key's own limits (by key id), in place of ``key_rate_limits``
    own_key_rate_limits: tuple[tuple[str, RateLimits], ...] = ()
    #: the duplicate-ping cache (``None``: off)
    ping_dedup: PingDedup | None = None
    #: its hosted lead-capture forms (``domain.forms``)
    forms: tuple[HostedForm, ...] = ()
