"""A campaign's posting instructions as one model (DESIGN §9 "posting instructions").

:func:`posting_instructions` reads the configuration snapshot: the campaign's modes, its
vertical's fields with what each stage requires (from the very schemas of the campaign's
OpenAPI document, :mod:`pingtree.api.field_schemas`, so the page, the Markdown and the
document never disagree), the TTL and deadlines, the reasons with what each means, the
``Idempotency-Key`` rules, test mode, and examples built from the field specs whose values
pass validation. The admin page and the Markdown render this model; nothing of it is
written by hand, so it is never stale. It holds no key: the examples read the campaign key
from the shell variable ``$PINGTREE_API_KEY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingtree.api.body import MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY
from pingtree.api.field_schemas import field_schema, fields_schema
from pingtree.api.instructions_examples import (
    KEY_VARIABLE,
    PING_ID_PLACEHOLDER,
    Example,
    example_calls,
    example_values,
)
from pingtree.api.instructions_inbound import ProfileDoc, profile_docs
from pingtree.api.instructions_protection import dedup_lines, limit_lines
from pingtree.api.instructions_steps import steps_note
from pingtree.domain.campaigns import Campaign
from pingtree.domain.fields import TRACKING_FIELDS, Stage
from pingtree.domain.outcomes import Reason
from pingtree.domain.verticals import FieldSpec, FieldType, Vertical
from pingtree.store.snapshot import Snapshot

__all__ = ["REASON_MEANINGS", "FieldDoc", "Instructions", "posting_instructions"]

#: what each reason means to a seller: the one list the page, the Markdown and the
#: OpenAPI documents show (a test checks every reason has its meaning)
REASON_MEANINGS: Mapping[Reason, str] = {
    Reason.NO_ELIGIBLE_BUYERS: "no buyer's order takes this lead now (filters, schedules,"
    " caps, budgets or test mode)",
    Reason.BELOW_MIN_REVENUE: "the best offer is below the campaign's minimum revenue",
    Reason.BELOW_MIN_PROFIT: "the best offer leaves less than the campaign's minimum profit",
    Reason.BELOW_MIN_PROFIT_PERCENT: "the best offer's margin is below the campaign's minimum"
    " profit %",
    Reason.TOO_FEW_BUYERS: "fewer buyers could take the lead than the campaign requires",
    Reason.MISSING_REQUIRED_FIELDS: "the ping lacks fields this campaign requires in a ping;"
    " the answer names them in `missing`",
    Reason.PII_IN_PING: "the ping carried personal data (a PII field, or an email or phone"
    " number in another field): send it in the post only",
    Reason.CAMPAIGN_INACTIVE: "the campaign or its supplier is paused",
    Reason.MODE_NOT_ALLOWED: "this campaign does not take this kind of call (ping/post or"
    " direct post)",
    Reason.PING_UNKNOWN: "no ping of this campaign has this `ping_id`",
    Reason.PING_EXPIRED: "the ping's `expires_at` has passed: ping again",
    Reason.PING_ALREADY_USED: "this ping was posted already with a different body",
    Reason.PING_REJECTED: "the ping was rejected, so it cannot be posted",
    Reason.PING_POST_MISMATCH: "the post changed pinged values; the answer names them in `fields`",
    Reason.DUPLICATE: "this consumer was sent already (the campaign's duplicate window), or"
    " the `Idempotency-Key` was used for a different lead",
    Reason.PHONE_INVALID: "the campaign checks phone numbers before selling, and this one is"
    " not a valid number in its numbering plan",
    Reason.EMAIL_INVALID: "the campaign checks email addresses before selling, and this one is"
    " not a valid address",
    Reason.SUPPRESSED: "the consumer's phone or email is on a suppression list the campaign"
    " checks (do-not-call, litigators, existing customers)",
    Reason.VERIFICATION_FAILED: "a service the campaign checks leads with (a TrustedForm"
    " certificate, a Jornaya LeadiD, a fraud score) did not verify this lead",
    Reason.VERIFICATION_UNAVAILABLE: "a service the campaign checks leads with could not"
    " answer in time: post the lead again later",
    Reason.CONSENT_STALE: "the consent (`consent_at`) is older than the campaign allows, in"
    " the future, or given under a retired version of its text; the answer names the field in"
    " `fields`",
    Reason.CONSENT_MISMATCH: "the `consent_text` is none of the versions of the campaign's"
    " consent text",
    Reason.ALL_BUYERS_DECLINED: "every buyer that could take the lead declined it",
    Reason.RETURN_RATE_OVER_LIMIT: "too many of the supplier's leads were returned lately:"
    " its campaigns are paused until the rate is back under the marketplace's limit",
}

_STATUSES = (
    ("accepted", "ping: a bid and a `ping_id` to post before `expires_at`; post or direct"
     " post: the lead is stored and delivery goes on (the campaign does not wait for it)"),
    ("sold", "post or direct post: sold; `price` is what you are paid, `redirect_url` where"
     " to send the consumer when the buyer gives one"),
    ("pending", "delivery is still running past the post deadline: read the outcome later"
     " at `GET /api/v1/leads/{lead_id}`"),
    ("rejected", "not accepted or not sold: `reasons` says why"),
)  # fmt: skip

_ERRORS = (
    (400, "the body is not valid JSON or form"),
    (401, "no API key, or one that is malformed or not valid (`WWW-Authenticate: Bearer`)"),
    (403, "the key is not a campaign key, or its campaign is not configured"),
    (413, f"the body is larger than {MAX_BODY_BYTES} bytes"),
    (415, "the content type is neither `application/json` nor"
     " `application/x-www-form-urlencoded`"),
    (422, "invalid input: `detail` lists each problem with its `loc` (such as"
     " `[\"body\", \"fields\", \"phone\"]`), `msg` and `type`; nothing was stored"),
    (429, "too many requests: wait the `Retry-After` seconds"),
    (503, "the server cannot take more work now and did nothing: retry after the"
     " `Retry-After` seconds"),
)  # fmt: skip

_MODE_NAMES = {"ping_post": "ping then post", "direct_post": "direct post"}


@dataclass(frozen=True)
class FieldDoc:
    """One field of the campaign's vertical as a seller must send it."""

    name: str
    label: str
    type: str
    pii: bool
    #: inherited by every vertical (sub ids, consent, …)
    tracking: bool
    #: ``required``, ``optional`` or ``never`` (PII: refused in a ping)
    ping: str
    #: ``required`` or ``optional``
    post: str
    allowed: tuple[str, ...]
    #: the format, pattern, bounds and length, each a short phrase
    rules: tuple[str, ...]
    #: what the API accepts besides the canonical spelling
    accepts: str
    example: object


@dataclass(frozen=True)
class Instructions:
    campaign_id: str
    campaign_name: str
    supplier_id: str
    vertical_id: str
    vertical_name: str
    config_version: int
    base_url: str
    openapi_url: str
    modes: tuple[str, ...]
    ping_post: bool
    direct_post: bool
    #: (method, URL, what it does)
    endpoints: tuple[tuple[str, str, str], ...]
    key_variable: str
    #: what a post example holds in place of its ping id
    ping_id_placeholder: str
    ping_ttl_seconds: int
    ping_deadline_ms: int
    post_deadline_ms: int
    wait_for_delivery: bool
    test_mode: bool
    max_sells: int
    max_body_bytes: int
    max_idempotency_key: int
    #: the campaign's own required ping fields (beyond the vertical's)
    required_ping_fields: tuple[str, ...]
    fields: tuple[FieldDoc, ...]
    statuses: tuple[tuple[str, str], ...]
    reasons: tuple[tuple[str, str], ...]
    errors: tuple[tuple[int, str], ...]
    #: short texts, Markdown inline (`code`, **strong**)
    timing: tuple[str, ...]
    fields_note: str
    idempotency: tuple[str, ...]
    test_note: str
    examples: tuple[Example, ...]
    #: the sellers' own formats the campaign takes (``api.instructions_inbound``)
    profiles: tuple[ProfileDoc, ...] = ()


def posting_instructions(snapshot: Snapshot, campaign_id: str, base_url: str) -> Instructions:
    """The instructions of one configured campaign (``KeyError`` if it is not), with its
    URLs under ``base_url`` (scheme, host and port, no trailing slash)."""
    campaign = snapshot.config.campaigns[campaign_id]
    vertical = snapshot.config.verticals[campaign.vertical_id]
    base_url = base_url.rstrip("/")
    modes = tuple(mode for mode in _MODE_NAMES if mode in campaign.modes)
    endpoints: list[tuple[str, str, str]] = []
    if "ping_post" in modes:
        endpoints += [
            ("POST", f"{base_url}/api/v1/ping", "ping: non-PII fields in, a bid and a ping id out"),
            ("POST", f"{base_url}/api/v1/post", "post: the full lead with the ping's ping_id"),
        ]
    if "direct_post" in modes:
        endpoints.append(("POST", f"{base_url}/api/v1/leads", "direct post: a full lead, no ping"))
    endpoints.append(
        ("GET", f"{base_url}/api/v1/leads/{{lead_id}}", "a lead's final outcome, as answered")
    )
    openapi_url = f"{base_url}/api/v1/campaigns/{campaign.id}/openapi.json"
    endpoints.append(("GET", openapi_url, "this campaign's OpenAPI 3.1 document"))
    return Instructions(
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        supplier_id=campaign.supplier_id,
        vertical_id=vertical.id,
        vertical_name=vertical.name,
        config_version=snapshot.version,
        base_url=base_url,
        openapi_url=openapi_url,
        modes=tuple(_MODE_NAMES[mode] for mode in modes),
        ping_post="ping_post" in modes,
        direct_post="direct_post" in modes,
        endpoints=tuple(endpoints),
        key_variable=KEY_VARIABLE,
        ping_id_placeholder=PING_ID_PLACEHOLDER,
        ping_ttl_seconds=campaign.ping_ttl_seconds,
        ping_deadline_ms=campaign.ping_deadline_ms,
        post_deadline_ms=campaign.post_deadline_ms,
        wait_for_delivery=campaign.wait_for_delivery,
        test_mode=campaign.test_mode,
        max_sells=campaign.max_sells,
        max_body_bytes=MAX_BODY_BYTES,
        max_idempotency_key=MAX_IDEMPOTENCY_KEY,
        required_ping_fields=tuple(campaign.ping_options.required_fields),
        fields=_field_docs(vertical, campaign),
        statuses=_STATUSES,
        reasons=tuple((str(reason), REASON_MEANINGS[reason]) for reason in Reason),
        errors=_ERRORS,
        timing=tuple(_timing(campaign)),
        fields_note=_fields_intro(campaign),
        idempotency=tuple(_idempotency(campaign)),
        test_note=_test_mode(campaign),
        examples=example_calls(vertical, campaign, base_url),
        profiles=profile_docs(vertical, campaign, base_url),
    )


# --- texts -----------------------------------------------------------------------------


def _timing(campaign: Campaign) -> list[str]:
    lines = []
    if "ping_post" in campaign.modes:
        lines += [
            f"A ping is answered within {campaign.ping_deadline_ms} ms (ask for less with"
            " `tmax_ms`).",
            f"An accepted ping holds for {campaign.ping_ttl_seconds} s: post it before its"
            " `expires_at` (UTC), or the post is answered `ping_expired`.",
        ]
    if campaign.wait_for_delivery:
        lines.append(
            f"A post or direct post is answered once the buyer confirmed, within"
            f" {campaign.post_deadline_ms} ms; past that it is `pending`: read the outcome at"
            " `GET /api/v1/leads/{lead_id}`."
        )
    else:
        lines.append(
            "A post or direct post is answered `accepted` as soon as the lead is stored;"
            " read the final outcome at `GET /api/v1/leads/{lead_id}`."
        )
    lines.append(f"Bodies are at most {MAX_BODY_BYTES} bytes.")
    return lines + limit_lines(campaign)


def _fields_intro(campaign: Campaign) -> str:
    text = (
        "Send fields under `fields` in JSON, or by name in a form. *Ping*/*Post*: whether"
        " the call requires the field; `never`: personal data is refused in a ping. A post"
        " may leave out the fields of its ping (they are inherited); a field sent again"
        " must equal the pinged value, or the post is `ping_post_mismatch`. Values may"
        " arrive as text."
    )
    if campaign.ping_options.required_fields:
        names = ", ".join(f"`{n}`" for n in campaign.ping_options.required_fields)
        text += (
            f" This campaign requires {names} in a ping: a ping without one is answered"
            " `rejected` with `missing_required_fields`, naming the absent fields in `missing`."
        )
    return text + steps_note(campaign)


def _idempotency(campaign: Campaign) -> list[str]:
    lines = [
        f"Send `Idempotency-Key: <your id for the lead>` (at most {MAX_IDEMPOTENCY_KEY}"
        " characters) to make a retry safe."
    ]
    if "ping_post" in campaign.modes:
        lines += [
            f"A ping repeated with the same key within its TTL ({campaign.ping_ttl_seconds} s) gets"
            " the first answer, without asking buyers again.",
            "A post needs no key: a repeated post of the same ping with the same body gets the"
            " first answer; with a different body it is `ping_already_used`.",
        ]
    if "direct_post" in campaign.modes:
        lines.append(
            "A direct post repeated with the same key and body gets the first answer; the same"
            " key with a different body is `duplicate`."
        )
    lines += dedup_lines(campaign)
    lines.append("A request refused with a 4xx used up nothing: fix it and send it again.")
    return lines


def _test_mode(campaign: Campaign) -> str:
    text = (
        'Add `"test": true` (a form: `test=true`) to send a test lead: it reaches only test'
        " orders and never changes caps, duplicate checks, reports or payouts; the answer"
        ' carries `"test": true`.'
    )
    if campaign.test_mode:
        text += " **This campaign is in test mode: every lead it takes is a test lead.**"
    return text


# --- fields ----------------------------------------------------------------------------


def _field_docs(vertical: Vertical, campaign: Campaign) -> tuple[FieldDoc, ...]:
    # the OpenAPI document's own schemas say what each stage requires
    ping = fields_schema(vertical, Stage.PING, campaign.ping_options.required_fields)
    post = fields_schema(vertical, Stage.POST)
    tracking = {spec.name for spec in TRACKING_FIELDS}
    examples = example_values(vertical)
    docs = []
    for spec in vertical.fields:
        if spec.name not in ping["properties"]:
            ping_need = "never"
        else:
            ping_need = "required" if spec.name in ping["required"] else "optional"
        schema = field_schema(spec)
        docs.append(
            FieldDoc(
                name=spec.name,
                label=spec.label or spec.name,
                type=str(spec.type),
                pii=spec.pii,
                tracking=spec.name in tracking,
                ping=ping_need,
                post="required" if spec.name in post["required"] else "optional",
                allowed=tuple(str(value) for value in schema.get("enum", ())),
                rules=_rules(spec, schema),
                accepts=_accepts(schema),
                example=examples.get(spec.name),
            )
        )
    return tuple(docs)


def _rules(spec: FieldSpec, schema: Mapping[str, Any]) -> tuple[str, ...]:
    rules = []
    if spec.type is FieldType.STRING:
        rules.append(f"text of 1 to {schema['maxLength']} characters, no control characters")
    elif spec.type is FieldType.STATE:
        rules.append("a two-letter state code")
    elif "pattern" in schema:
        rules.append(f"pattern `{schema['pattern']}`")
    if "format" in schema:
        rules.append(f"format {schema['format']}")
    if spec.type is FieldType.IP:
        rules.append("an IPv4 or IPv6 address")
    if spec.type in (FieldType.INTEGER, FieldType.DECIMAL) and (
        spec.min is not None or spec.max is not None
    ):
        low = "" if spec.min is None else f"{_plain(spec.min)} ≤ "
        high = "" if spec.max is None else f" ≤ {_plain(spec.max)}"
        rules.append(f"{low}value{high}")
    if spec.type in (FieldType.EMAIL, FieldType.URL):
        rules.append(f"at most {schema['maxLength']} characters")
    return tuple(rules)


def _accepts(schema: Mapping[str, Any]) -> str:
    notes = str(schema.get("description", "")).split("; ")
    return "; ".join(n for n in notes if n and not n.startswith("personal data"))


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)
