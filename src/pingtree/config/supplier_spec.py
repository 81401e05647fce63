"""The YAML shape of a supplier and its campaigns (``suppliers[]``,
``suppliers[].campaigns[]``): payout, ping options, consent, rate limits, the duplicate-ping
cache and the sellers' own inbound formats."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from pingtree.config.form_spec import FormSpec
from pingtree.config.spec_types import (
    MAX_REF,
    MAX_TEXT,
    Money,
    Name,
    Number,
    Ref,
    ReturnRuleSpec,
    Slug,
    Spec,
)
from pingtree.config.vertical_spec import QualityStepSpec
from pingtree.domain.campaigns import RankBy, RepeatAnswer
from pingtree.domain.consent import Evidence
from pingtree.domain.quality_steps import OnFail

__all__ = [
    "CampaignSpec",
    "ConsentSpec",
    "ConsentTextSpec",
    "FixedPayoutSpec",
    "InboundAnswerSpec",
    "InboundProfileSpec",
    "PayoutSpec",
    "PingDedupSpec",
    "PingOptionsSpec",
    "RateLimitSpec",
    "RateLimitsSpec",
    "RevenueSharePayoutSpec",
    "SupplierSpec",
]

#: how a campaign takes leads
Mode = Literal["ping_post", "direct_post"]


class ConsentTextSpec(Spec):
    """One version of a campaign's consent text (``domain.consent``)."""

    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
    text: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    #: a consent given under this text from this time on is stale (with its offset)
    retired_at: dt.datetime | None = None


class ConsentSpec(Spec):
    """What a campaign requires of a lead's consent (``domain.consent``)."""

    #: the versions of its consent text, the current one last; none: any text
    texts: list[ConsentTextSpec] = []
    #: how old a consent (``consent_at``) may be when the lead arrives
    max_age_minutes: int = Field(default=1440, ge=1, le=366 * 24 * 60)
    #: the evidence a lead must carry
    require: list[Evidence] = list(Evidence)
    #: a stale or mismatched consent: reject the lead, or flag it (``consent.valid``)
    on_fail: OnFail = OnFail.REJECT


class RevenueSharePayoutSpec(Spec):
    model: Literal["revenue_share"]
    #: the seller's share of the realized revenue, in percent
    percent: Number


class FixedPayoutSpec(Spec):
    model: Literal["fixed"]
    amount: Money


PayoutSpec = Annotated[RevenueSharePayoutSpec | FixedPayoutSpec, Field(discriminator="model")]


class PingOptionsSpec(Spec):
    min_revenue: Money = Decimal("0.00")
    min_profit: Money = Decimal("0.00")
    min_profit_percent: Number | None = None
    min_buyers: int = 1
    required_fields: list[Ref] = []
    qualify_all_criteria: bool = False


#: a rate limit's number of requests: at least 1 (no limit: leave it out)
_Limit = Annotated[int, Field(ge=1, le=1_000_000)]


class RateLimitSpec(Spec):
    """Requests per second, per minute, and in flight at once (``domain.rate_limits``)."""

    per_second: _Limit | None = None
    per_minute: _Limit | None = None
    concurrent: _Limit | None = None


#: a campaign key's id: the hexadecimal part after ``pt_`` of ``pt_<id>_<secret>``
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


class RateLimitsSpec(RateLimitSpec):
    """A campaign's limits: all its keys together, ``per_key`` each key on its own, and
    ``keys`` a key's own limits by its id (in place of ``per_key``)."""

    per_key: RateLimitSpec = RateLimitSpec()
    keys: dict[KeyId, RateLimitSpec] = {}


class PingDedupSpec(Spec):
    """The duplicate-ping cache (``domain.ping_dedup``)."""

    window_seconds: int = Field(default=300, ge=1, le=30 * 86_400)
    on_repeat: RepeatAnswer = RepeatAnswer.FIRST_ANSWER
    #: the ping fields that tell consumers apart; empty: the vertical's own non-PII ones
    fields: list[Ref] = []


#: a seller's own name for a field, a control name or an answer key (``Lead.Zip``, ``lp_key``)
TheirName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_REF, pattern=r"^[^\x00-\x1f\x7f]+$")
]
#: a value of a value map: what the seller's spelling stands for
MappedValue = str | bool | int


class InboundAnswerSpec(Spec):
    """How a profile's answers read: JSON keys or XML elements, and the status words."""

    #: default: ``xml`` for an ``xml`` profile, else ``json``
    format: Literal["json", "xml"] | None = None
    #: the root element of an XML answer
    root: TheirName = "response"
    #: our answer key (``status``, ``ping_id``, ``bid``, ``price``, ``reasons``…) → theirs
    names: dict[str, TheirName] = {}
    #: our status (``accepted``, ``sold``, ``pending``, ``rejected``, ``error``) → theirs
    statuses: dict[str, TheirName] = {}


class InboundProfileSpec(Spec):
    """A seller's own format (``domain.inbound``): called at
    ``/api/v1/in/{campaign}/{id}/ping`` (and ``/post``, ``/leads``)."""

    id: Slug
    #: ``json``: our envelope, the fields by the seller's names
    format: Literal["json", "flat_json", "form", "query", "xml"]
    #: the seller's name → the vertical's field (or ``ping_id``, ``test``, ``api_key``,
    #: ``tmax_ms``)
    aliases: dict[TheirName, Ref] = {}
    #: per field of ours: the seller's value → ours (``{homeowner: {Y: true, N: false}}``)
    values: dict[Ref, dict[TheirName, MappedValue]] = {}
    #: names the seller sends that are not lead data
    ignore: list[TheirName] = []
    #: an ``xml`` profile's request root element; default: any
    xml_root: TheirName | None = None
    answer: InboundAnswerSpec = InboundAnswerSpec()


class CampaignSpec(Spec):
    id: Slug
    name: Name = ""
    vertical: Ref
    modes: list[Mode] = ["ping_post"]
    payout: PayoutSpec
    max_sells: int = 1
    rank_by: RankBy = RankBy.PRICE
    ping_ttl_seconds: int = 300
    ping_deadline_ms: int = 1000
    wait_for_delivery: bool = True
    post_deadline_ms: int = Field(default=15_000, ge=100, le=120_000)
    #: the conversion postback: a URL template with macros ({click_id}, {sub_id},
    #: {payout}, {status}…: ``domain.postbacks``) sent on the lead's final answer and on an
    #: approved return
    postback_url: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=MAX_TEXT)] | None
    ) = None
    #: ``GET``: the URL alone; ``POST``: with the lead's answer as JSON
    postback_method: Literal["GET", "POST"] = "GET"
    test_mode: bool = False
    active: bool = True
    inbound_dedup_days: int = 0
    #: an approved return charges the supplier's payout back
    charge_back_returns: bool = True
    ping_options: PingOptionsSpec = PingOptionsSpec()
    #: the sellers' own formats (besides our JSON envelope), each at its own URL
    inbound: list[InboundProfileSpec] = []
    #: quality steps before the auction, in order; none given: the vertical's
    steps: list[QualityStepSpec] | None = None
    #: consent as evidence, checked before its steps; none: not required
    consent: ConsentSpec | None = None
    #: 429 past these (``domain.rate_limits``)
    rate_limits: RateLimitsSpec = RateLimitsSpec()
    #: a repeated ping's answer (``domain.ping_dedup``); none: every ping is auctioned
    ping_dedup: PingDedupSpec | None = None
    #: hosted lead-capture forms, each at ``/f/{id}`` (``config.form_spec``)
    forms: list[FormSpec] = []


class SupplierSpec(Spec):
    id: Slug
    name: Name = ""
    active: bool = True
    #: pause the supplier's campaigns while its return rate is over a limit
    return_rule: ReturnRuleSpec | None = None
    campaigns: list[CampaignSpec] = []
