"""The two closed vocabularies of an auction.

- :class:`Outcome`: what became of one candidate order (the trace; operators see it).
- :class:`Reason`: why a seller's ping, post or lead was not accepted or not sold. Reasons
  never name a buyer or a price (DESIGN §8.2); they are part of the public API.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["INELIGIBLE", "PRICED", "Outcome", "Reason"]


class Outcome(StrEnum):
    # ineligible: the order was not asked for a price
    PAUSED = "paused"
    TEST_MODE = "test_mode"
    FILTER = "filter"
    SCHEDULE = "schedule"
    CAP = "cap"
    BUDGET = "budget"
    #: the buyer's prepaid balance or credit limit cannot cover the price
    BALANCE = "balance"
    #: the buyer is paused while its return rate is over its rule's limit
    RETURN_RATE = "return_rate"
    DEDUP = "dedup"
    LEG = "leg"
    # priced
    FIXED = "fixed"
    BID = "bid"
    # asked but gave no usable price
    NO_BID = "no_bid"
    BELOW_FLOOR = "below_floor"
    #: a price above the order's ``max_bid``: the buyer answered, its price is refused (a
    #: business outcome, never a failure of the buyer: the circuit breaker ignores it)
    ABOVE_MAX_BID = "above_max_bid"
    TIMEOUT = "timeout"
    ERROR = "error"
    SKIPPED_SLOW = "skipped_slow"
    THROTTLED = "throttled"
    CIRCUIT_OPEN = "circuit_open"
    # priced, then not among the winners because its buyer already won with another order
    BUYER_ALREADY_WON = "buyer_already_won"


#: outcomes of an order that was never asked for a price
INELIGIBLE = frozenset(
    {
        Outcome.PAUSED,
        Outcome.TEST_MODE,
        Outcome.FILTER,
        Outcome.SCHEDULE,
        Outcome.CAP,
        Outcome.BUDGET,
        Outcome.BALANCE,
        Outcome.RETURN_RATE,
        Outcome.DEDUP,
        Outcome.LEG,
    }
)
#: outcomes that carry a price and take part in the ranking
PRICED = frozenset({Outcome.FIXED, Outcome.BID})


class Reason(StrEnum):
    # the auction and the campaign's ping options
    NO_ELIGIBLE_BUYERS = "no_eligible_buyers"
    BELOW_MIN_REVENUE = "below_min_revenue"
    BELOW_MIN_PROFIT = "below_min_profit"
    BELOW_MIN_PROFIT_PERCENT = "below_min_profit_percent"
    TOO_FEW_BUYERS = "too_few_buyers"
    MISSING_REQUIRED_FIELDS = "missing_required_fields"
    PII_IN_PING = "pii_in_ping"
    # the campaign
    CAMPAIGN_INACTIVE = "campaign_inactive"
    #: the supplier's leads are returned too often: paused by the marketplace's rule
    RETURN_RATE_OVER_LIMIT = "return_rate_over_limit"
    MODE_NOT_ALLOWED = "mode_not_allowed"
    # posts
    PING_UNKNOWN = "ping_unknown"
    PING_EXPIRED = "ping_expired"
    PING_ALREADY_USED = "ping_already_used"
    PING_REJECTED = "ping_rejected"
    PING_POST_MISMATCH = "ping_post_mismatch"
    DUPLICATE = "duplicate"
    # the campaign's quality steps before the auction (``domain.quality``)
    PHONE_INVALID = "phone_invalid"
    EMAIL_INVALID = "email_invalid"
    SUPPRESSED = "suppressed"
    #: an outside service the campaign checks leads with (TrustedForm, Jornaya, a fraud
    #: score) said no
    VERIFICATION_FAILED = "verification_failed"
    #: that service gave no usable answer, and the campaign rejects leads it cannot check
    VERIFICATION_UNAVAILABLE = "verification_unavailable"
    #: the consent is older than the campaign allows, in the future, or under a retired text
    CONSENT_STALE = "consent_stale"
    #: the consent text is none of the campaign's versions
    CONSENT_MISMATCH = "consent_mismatch"
    # delivery
    ALL_BUYERS_DECLINED = "all_buyers_declined"
