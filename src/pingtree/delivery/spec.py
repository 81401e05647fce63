"""A buyer's HTTP steps as data: the YAML shape of ``delivery:`` and its compilation.

An order's ``delivery`` has a ``post`` step (deliver the lead) and, for bid orders, a
``ping`` step (ask for a price with non-PII fields)::

    delivery:
      ping:
        url: "https://api.buyer.example/ping/{campaign}"  # {name}: a lead field, token or var
        method: POST                      # GET | POST | PUT
        headers: {X-Source: pingtree}     # values may hold {name} or be {secret: NAME}
        auth: {type: bearer, token: {secret: shield_token}}
        content_type: json                # json | xml | form | query | text
        timeout_ms: 800
        retries: 1                        # a ping is re-sent on a refused connection only,
                                          # within its deadline (a post: also on 429/502/503)
        vars: {campaign: "c-42"}          # static values for {placeholders} and templates
        body:
          fields:
            - {from: state, to: lead.state, map: {FL: Florida}}
            - {from: age, to: lead.age, as: integer}
            - {value: pingtree, to: source}
          template: null      # xml/text: a sandboxed Jinja2 template instead of fields,
                              # values escaped for the Content-Type sent (XML, form,
                              # CSV, plain text; never JSON: build that from fields)
          form_field: null    # form: the whole document in this one field
          document: null      # with form_field: xml (default) | json | text
          root: lead          # XML built from fields: the root element
          documents:          # form/query: more fields, each a whole document
            - {to: lead_xml, document: xml, root: Lead, fields: [{from: zip, to: Zip}]}
            - {to: tracking, document: json, fields: [{from: sub_id, to: source.sub}]}
        response:
          accepted: {json: "$.status", equals: [success, "1", "true"]}   # also matches,
                                          # present, and numbers: gt, ge, lt, le
          rejected: [{json: "$.status", equals: [failure]}, {status: [404]}]
          bid: {json: "$.price"}          # a fixed-price order's ping reads no bid: it is
                                          # accept-only (accepted/rejected, token, reason)
          bid_shared: {json: "$.shared"}  # a leg's own price (also bid_exclusive): a
                                          # multi-leg bid, each leg judged on its own
      post:
        same_as: ping         # every key of the ping step not set here
        preset: json_status   # a step may also extend a preset (pingtree.delivery.presets)
        url: "https://api.buyer.example/post"
        retries: 2
        test_marker: {header: X-Test-Lead, value: "1"}   # or {field: test, value: true}:
                              # what marks a test-buyer request; never sent with a real lead
      chain:                  # after a sold lead's post, in order, from the outbox
        - name: crm           # in the delivery log and on the lead's page
          url: "https://crm.buyer.example/hook"
          continue_on_success: true   # false: a success ends the chain (the rest are
                                      # fallbacks); after a failure the next step runs
          retries: 2          # every key of a post step (preset too; same_as not)
          body: {fields: [{from: email, to: email}, {from: token, to: ref}]}
          response: {accepted: {status: [200, 201]}}
      notices:                # a live bid order's win and loss notices (OpenRTB nurl/lurl):
                              # GET, best effort, after the ping is answered, logged as
                              # kind ``notice``; macros {ping_id}, {price}, {reason} only
        win: "https://api.buyer.example/win?id={ping_id}&price={price}"
        loss: "https://api.buyer.example/loss?id={ping_id}&why={reason}"
        timeout_ms: 1000

Pydantic checks the shape (:class:`DeliverySpec`, ``extra="forbid"``);
:func:`compile_delivery` checks the meaning and compiles every expression once, reporting
every issue with its path relative to ``delivery``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from pingtree.delivery.compiled import (
    ChainLink,
    CompiledDelivery,
    CompiledLimits,
    CompiledNotices,
    CompiledStep,
    SecretRef,
)
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.models import (
    AuthSpec,
    BodySpec,
    DeliverySpec,
    FieldMapSpec,
    ResponseSpec,
    RuleSpec,
    StepSpec,
)
from pingtree.delivery.notices import notice_url_issue
from pingtree.delivery.resolve import apply_preset, resolve_same_as, shape_issues
from pingtree.delivery.step_compiler import StepCompiler

__all__ = [
    "AuthSpec",
    "BodySpec",
    "CompiledDelivery",
    "CompiledStep",
    "DeliveryConfigError",
    "DeliverySpec",
    "FieldMapSpec",
    "ResponseSpec",
    "RuleSpec",
    "SecretRef",
    "StepSpec",
    "compile_delivery",
]


# --- compiling -----------------------------------------------------------------------------


def compile_delivery(
    raw: Mapping[str, object],
    pii_fields: frozenset[str],
    known_fields: frozenset[str],
    *,
    fixed_price: bool = False,
) -> CompiledDelivery:
    """An order's ``delivery`` mapping, checked and compiled once for the snapshot.

    ``known_fields`` are the vertical's field names (tracking fields included) and
    ``pii_fields`` the PII ones among them. Raises :class:`DeliveryConfigError` carrying
    every issue as ``(path, msg)``, paths relative to ``delivery``: shape errors first
    (unknown keys, wrong types; nothing else is checked then), else every meaning error:
    a missing ``post`` or ``url``, an unresolved ``same_as`` or ``preset``, a URL that is
    not http(s) or has a placeholder in its host, an unknown ``from``/placeholder/template
    name, a PII field anywhere in a ping step ("PII never goes into a ping"), ``token``
    outside a post step, ``on_unknown`` on a ping, CR/LF in headers, JSONPaths, XPaths, RE2
    patterns and templates that do not compile, JSONPaths and XPaths whose cost grows
    faster than the answer (:mod:`pingtree.delivery.jsonpaths`), a template sent as a type
    its values cannot be escaped for (JSON above all), rules without a test, a ping
    without a bid rule. With ``fixed_price`` (an order of ``pricing: fixed``) the ping is
    accept-only: it reads accepted or rejected, a token and a reason, never a bid (the
    price is the order's).
    """
    try:
        spec = DeliverySpec.model_validate(raw)
    except ValidationError as exc:
        raise DeliveryConfigError(shape_issues(raw, exc)) from None
    issues: list[tuple[str, str]] = []
    ping = post = None
    ping_spec = None if spec.ping is None else apply_preset("ping", spec.ping, issues)
    if ping_spec is not None:
        if ping_spec.same_as is not None:
            issues.append(("ping.same_as", "only a post step can be the same as another"))
        ping = StepCompiler(
            "ping", ping_spec, {}, pii_fields, known_fields, issues, fixed_price=fixed_price
        ).compile()
    if spec.post is None:
        issues.append(("post", "a delivery needs a post step"))
    else:
        post_spec = apply_preset("post", spec.post, issues)
        merged, sources = resolve_same_as(ping_spec, post_spec, issues)
        post = StepCompiler("post", merged, sources, pii_fields, known_fields, issues).compile()
    chain = _chain(spec, pii_fields, known_fields, issues)
    notices = _notices(spec, ping is not None, issues)
    if issues or post is None:
        raise DeliveryConfigError(dict.fromkeys(issues))  # an inherited issue counts once
    limits = CompiledLimits(
        max_concurrent=spec.limits.max_concurrent,
        per_second=spec.limits.per_second,
        breaker_failures=spec.limits.breaker.failures,
        breaker_cooldown_s=spec.limits.breaker.cooldown_seconds,
    )
    return CompiledDelivery(ping=ping, post=post, limits=limits, chain=chain, notices=notices)


def _notices(
    spec: DeliverySpec, pinged: bool, issues: list[tuple[str, str]]
) -> CompiledNotices | None:
    """The win and loss notice URLs, checked: http(s), the three macros only, and a ping
    step (only an order asked for a price bids in an auction)."""
    if spec.notices is None:
        return None
    if not pinged:
        issues.append(("notices", "notices need a ping step: only a live bid order bids"))
    for name in ("win", "loss"):
        url = getattr(spec.notices, name)
        issue = notice_url_issue(url) if url is not None else None
        if issue is not None:
            issues.append((f"notices.{name}", issue))
    return CompiledNotices(
        win=spec.notices.win, loss=spec.notices.loss, timeout_s=spec.notices.timeout_ms / 1000
    )


def _chain(
    spec: DeliverySpec,
    pii_fields: frozenset[str],
    known_fields: frozenset[str],
    issues: list[tuple[str, str]],
) -> tuple[ChainLink, ...]:
    """The steps after the post, each compiled as a post step (PII and the token allowed:
    they carry the sold lead) at ``chain[i]``."""
    links: list[ChainLink] = []
    names: set[str] = set()
    for index, raw in enumerate(spec.chain):
        at = f"chain[{index}]"
        if raw.name in names:
            issues.append((f"{at}.name", f"{raw.name!r} names another step of the chain"))
        names.add(raw.name)
        if raw.same_as is not None:
            issues.append((f"{at}.same_as", "a chain step is written whole (or from a preset)"))
        step_spec = apply_preset(at, raw, issues)
        step = StepCompiler(at, step_spec, {}, pii_fields, known_fields, issues).compile()
        if step is not None:
            links.append(ChainLink(raw.name, step, raw.continue_on_success))
    return tuple(links)
