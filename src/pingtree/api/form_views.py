"""Hosted lead-capture forms (``/f/{form}``): finding a form, its anti-forgery token, and
a submission sold as a direct post of its campaign (:mod:`pingtree.flows.direct_post`).

A submission runs the campaign's direct post, or its ping then post (the form's
``flow``). A form's page carries a token: when it was shown, a random nonce, and an HMAC
of both with the form's id under the server key. A submission needs a token of this form
not older than :data:`TOKEN_MAX_AGE`; the nonce is the direct post's (or the ping's)
``Idempotency-Key``, so a form sent twice (a double click, a reload) gets the first
answer and sells once.

What the form adds to the consumer's fields: the page's tracking values it carried
(``sub_id``, ``click_id``, ``utm_*``, ``source_url``) and its consent certificate: the
consent text shown, the time of the submission, the IP and the user agent.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pingtree.api.problems import Problem
from pingtree.api.seller_limits import seller_admitted
from pingtree.domain.fields import Stage, pii_field_names, validate_fields
from pingtree.domain.forms import CARRIED_FIELDS, HostedForm
from pingtree.domain.outcomes import Reason
from pingtree.domain.verticals import FieldType, Vertical
from pingtree.flows.direct_post import handle_direct_post
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ping import handle_ping
from pingtree.flows.ports import Ports
from pingtree.flows.post import handle_post
from pingtree.flows.requests import SellerRequest

__all__ = [
    "TOKEN_MAX_AGE",
    "FormAnswer",
    "Submission",
    "check_token",
    "find_form",
    "issue_token",
    "submit_form",
]

#: how long a shown form may wait before it is sent
TOKEN_MAX_AGE = dt.timedelta(hours=12)
#: what a rejection for a field's value says to the consumer, by the field
_FIELD_REASONS = {
    Reason.PHONE_INVALID: ("phone", "This phone number does not work: please check it."),
    Reason.EMAIL_INVALID: ("email", "This email address does not work: please check it."),
}


@dataclass(frozen=True)
class Submission:
    """What a consumer sent: the form's fields and carried values, as text; and who sent
    it (from the request)."""

    values: Mapping[str, str]
    ip: str | None
    user_agent: str


@dataclass(frozen=True)
class FormAnswer:
    """How a submission ended: ``errors`` by field (the form is shown again), else the
    lead's ``status`` and the buyer's ``redirect_url`` when it gave one."""

    errors: Mapping[str, str] = field(default_factory=dict)
    status: str | None = None
    lead_id: str | None = None
    redirect_url: str | None = None


def find_form(ports: Ports, form_id: str) -> HostedForm:
    """The form of an active campaign; :class:`NotFound` otherwise."""
    for campaign in ports.snapshots.current().config.campaigns.values():
        for form in campaign.forms:
            if form.id == form_id and campaign.active:
                return form
    raise NotFound(f"no form {form_id!r}")


def issue_token(ports: Ports, form: HostedForm) -> str:
    """A new token for one showing of ``form``."""
    issued = str(int(ports.clock.now().timestamp()))
    nonce = secrets.token_hex(16)
    return f"{issued}.{nonce}.{_signature(ports, form, issued, nonce)}"


def check_token(ports: Ports, form: HostedForm, token: str) -> tuple[dt.datetime, str] | None:
    """When the token's form was shown, and its nonce; ``None`` for a token that is not
    one of ``form``'s, is altered, or is older than :data:`TOKEN_MAX_AGE`."""
    issued, _, rest = token.partition(".")
    nonce, _, signature = rest.partition(".")
    if not issued.isdigit() or len(nonce) != 32 or not signature:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(ports, form, issued, nonce).encode()):
        return None
    shown = dt.datetime.fromtimestamp(int(issued), dt.UTC)
    now = ports.clock.now()
    if not shown - dt.timedelta(minutes=5) <= now <= shown + TOKEN_MAX_AGE:
        return None
    return shown, nonce


async def submit_form(
    ports: Ports, form: HostedForm, submission: Submission, nonce: str
) -> FormAnswer:
    """Sell what the consumer sent as a direct post of the form's campaign, or a ping then
    a post (its ``flow``), within the campaign's rate limits (the form counted as one
    key): field errors, or the answer."""
    fields: dict[str, Any] = {}
    for spec in form.fields:
        value = submission.values.get(spec.name, "").strip()
        if spec.spec.type is FieldType.BOOLEAN:
            # a checkbox left unticked sends nothing: that is a no
            fields[spec.name] = value.lower() in ("true", "on", "1")
        elif value:
            fields[spec.name] = value
    # every mistake at once: what is missing, then what the vertical's rules refuse
    errors = _required(form, submission)
    config = ports.snapshots.current().config
    vertical = config.verticals[config.campaigns[form.campaign_id].vertical_id]
    for problem in validate_fields(vertical, fields, Stage.POST).errors:
        errors.setdefault(str(problem.loc[-1]), problem.msg)
    if errors:
        return FormAnswer(errors=errors)
    for name in CARRIED_FIELDS:
        value = submission.values.get(name, "").strip()
        if value:
            fields[name] = value
    now = ports.clock.now()
    if form.consent_text:
        fields["consent_text"] = form.consent_text
        fields["consent_at"] = now.isoformat().replace("+00:00", "Z")
    if submission.ip:
        fields["ip_address"] = submission.ip
    if submission.user_agent:
        fields["user_agent"] = submission.user_agent[:1024]
    key = f"form:{form.id}"
    try:
        if form.flow == "ping_post":
            answer = await _ping_then_post(ports, form, fields, vertical, key, nonce)
        else:
            request = SellerRequest(
                campaign_id=form.campaign_id,
                fields=fields,
                test=form.test,
                idempotency_key=f"form-{nonce}",
                meta={"form": form.id},
            )
            async with seller_admitted(ports, form.campaign_id, key, "direct_post"):
                answer = await handle_direct_post(ports, request)
    except InputError as error:  # what the flow finds besides the fields' rules
        refused: dict[str, str] = {}
        for problem in error.errors:
            refused.setdefault(str(problem.loc[-1]), problem.msg)
        return FormAnswer(errors=refused)
    except Problem as problem:
        if problem.status == 429:
            return FormAnswer(errors={"": "Too many requests just now: please try again."})
        raise
    for reason in answer.get("reasons") or ():
        if reason in _FIELD_REASONS:
            name, message = _FIELD_REASONS[reason]
            return FormAnswer(errors={name: message})
    return FormAnswer(
        status=str(answer["status"]),
        lead_id=answer.get("lead_id"),
        redirect_url=answer.get("redirect_url"),
    )


async def _ping_then_post(
    ports: Ports,
    form: HostedForm,
    fields: Mapping[str, Any],
    vertical: Vertical,
    key: str,
    nonce: str,
) -> dict[str, Any]:
    """A ping of the lead's non-PII fields (the form's nonce its ``Idempotency-Key``: a
    form sent twice pings once), then, when accepted, the post of them all (a repeat of
    the same post gets its stored answer)."""
    pii = pii_field_names(vertical)
    ping = SellerRequest(
        campaign_id=form.campaign_id,
        fields={name: value for name, value in fields.items() if name not in pii},
        test=form.test,
        idempotency_key=f"form-{nonce}",
        meta={"form": form.id},
    )
    async with seller_admitted(ports, form.campaign_id, key, "ping"):
        pinged = await handle_ping(ports, ping)
    if pinged.get("status") != "accepted":
        return pinged
    post = SellerRequest(
        campaign_id=form.campaign_id,
        fields=fields,
        test=form.test,
        ping_id=pinged["ping_id"],
        meta={"form": form.id},
    )
    async with seller_admitted(ports, form.campaign_id, key, "post"):
        return await handle_post(ports, post)


def _required(form: HostedForm, submission: Submission) -> dict[str, str]:
    return {
        f.name: "Please fill this in."
        for f in form.fields
        if f.required
        and f.spec.type is not FieldType.BOOLEAN
        and not submission.values.get(f.name, "").strip()
    }


def _signature(ports: Ports, form: HostedForm, issued: str, nonce: str) -> str:
    # the server key's HMAC, on a text no lead value can take (it starts "form-token|")
    return ports.vault.index(f"form-token|{form.id}|{issued}|{nonce}")
