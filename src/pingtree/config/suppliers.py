"""Compiling a supplier and its campaigns (``suppliers[]``, ``suppliers[].campaigns[]``).

A campaign's own parts are compiled by their modules (``config.inbound``, ``config.quality``,
``config.consent``, ``config.protection``, ``config.forms``); checked here: its modes, its
payout, its ranges, its ping options against its vertical and its postback URL's macros.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pingtree.config.consent import compile_consent
from pingtree.config.errors import Issues
from pingtree.config.forms import compile_forms
from pingtree.config.inbound import compile_inbound
from pingtree.config.protection import compile_ping_dedup, compile_rate_limits
from pingtree.config.quality import compile_steps
from pingtree.config.return_rules import compile_return_rule
from pingtree.config.supplier_spec import CampaignSpec, RevenueSharePayoutSpec, SupplierSpec
from pingtree.config.verticals import vertical_ref
from pingtree.domain.campaigns import Campaign, PayoutModel, PingOptions
from pingtree.domain.parties import ReturnRuleAction, Supplier
from pingtree.domain.postbacks import MACROS, unknown_macros
from pingtree.domain.verticals import Vertical

__all__ = ["compile_campaign", "compile_supplier"]

_HUNDRED = Decimal(100)


def compile_supplier(spec: SupplierSpec, path: str, issues: Issues) -> Supplier:
    """The supplier ``spec`` describes (its campaigns are compiled one by one)."""
    rule = compile_return_rule(spec.return_rule, f"{path}.return_rule", issues)
    if rule is not None and rule.action is not ReturnRuleAction.PAUSE:
        issues.add(f"{path}.return_rule.action", "a supplier's rule can only pause it", rule.action)
    return Supplier(id=spec.id, name=spec.name or spec.id, active=spec.active, return_rule=rule)


def compile_campaign(
    spec: CampaignSpec,
    supplier: SupplierSpec,
    path: str,
    verticals: Mapping[str, Vertical],
    issues: Issues,
) -> Campaign | None:
    """The campaign ``spec`` of ``supplier`` describes; ``None`` when its vertical is
    unknown (its other issues are still collected)."""
    vertical = vertical_ref(spec.vertical, path, verticals, issues)
    if not spec.modes:
        issues.add(f"{path}.modes", "needs ping_post, direct_post or both")
    for k, mode in enumerate(spec.modes):
        if spec.modes.index(mode) != k:
            issues.add(f"{path}.modes[{k}]", "duplicate mode", mode)

    payout_model: PayoutModel
    payout_value: Decimal
    payout = spec.payout
    if isinstance(payout, RevenueSharePayoutSpec):
        payout_model, payout_value = PayoutModel.REVENUE_SHARE, payout.percent
        if not 0 < payout.percent <= _HUNDRED:
            issues.add(
                f"{path}.payout.percent",
                "must be greater than 0 and at most 100",
                payout.percent,
            )
    else:
        payout_model, payout_value = PayoutModel.FIXED, payout.amount

    issues.at_least(f"{path}.max_sells", spec.max_sells, 1)
    issues.at_least(f"{path}.ping_ttl_seconds", spec.ping_ttl_seconds, 1)
    issues.at_least(f"{path}.ping_deadline_ms", spec.ping_deadline_ms, 1)
    issues.at_least(f"{path}.inbound_dedup_days", spec.inbound_dedup_days, 0)

    options = spec.ping_options
    opath = f"{path}.ping_options"
    issues.at_least(f"{opath}.min_buyers", options.min_buyers, 1)
    percent = options.min_profit_percent
    if percent is not None and not 0 <= percent < _HUNDRED:
        issues.add(f"{opath}.min_profit_percent", "must be at least 0 and less than 100", percent)
    for k, name in enumerate(options.required_fields):
        fpath = f"{opath}.required_fields[{k}]"
        if options.required_fields.index(name) != k:
            issues.add(fpath, "duplicate field", name)
        elif vertical is not None:
            field_spec = vertical.field(name)
            if field_spec is None:
                issues.add(fpath, f"unknown field of vertical {vertical.id!r}", name)
            elif field_spec.pii:
                issues.add(fpath, "is a PII field, which never travels in a ping", name)
    unknown = unknown_macros(spec.postback_url or "")
    if unknown:
        issues.add(
            f"{path}.postback_url",
            f"unknown macros {', '.join('{' + m + '}' for m in unknown)}: the macros are "
            + ", ".join("{" + m + "}" for m in MACROS),
            spec.postback_url,
        )
    inbound, inbound_issues = compile_inbound(spec.inbound, vertical, path)
    for issue in inbound_issues:
        issues.add(*issue)
    steps = vertical.steps if vertical is not None else ()
    if spec.steps is not None and vertical is not None:
        steps, step_issues = compile_steps(spec.steps, vertical.fields, f"{path}.steps")
        for issue in step_issues:
            issues.add(*issue)
    consent, consent_issues = compile_consent(spec.consent, f"{path}.consent")
    for issue in consent_issues:
        issues.add(*issue)
    rate_limits, key_rate_limits, own_key_rate_limits = compile_rate_limits(spec.rate_limits)
    ping_dedup, dedup_issues = compile_ping_dedup(spec.ping_dedup, vertical, path)
    for issue in dedup_issues:
        issues.add(*issue)
    forms, form_issues = compile_forms(spec.forms, vertical, spec.id, path, spec.consent)
    for issue in form_issues:
        issues.add(*issue)

    if vertical is None:
        return None
    return Campaign(
        id=spec.id,
        supplier_id=supplier.id,
        vertical_id=vertical.id,
        name=spec.name or spec.id,
        modes=frozenset(spec.modes),
        payout_model=payout_model,
        payout_value=payout_value,
        ping_options=PingOptions(
            min_revenue=options.min_revenue,
            min_profit=options.min_profit,
            min_profit_percent=percent,
            min_buyers=options.min_buyers,
            required_fields=tuple(options.required_fields),
            qualify_all_criteria=options.qualify_all_criteria,
        ),
        max_sells=spec.max_sells,
        rank_by=spec.rank_by,
        ping_ttl_seconds=spec.ping_ttl_seconds,
        ping_deadline_ms=spec.ping_deadline_ms,
        wait_for_delivery=spec.wait_for_delivery,
        post_deadline_ms=spec.post_deadline_ms,
        postback_url=spec.postback_url,
        postback_method=spec.postback_method,
        test_mode=spec.test_mode,
        active=spec.active,
        inbound_dedup_days=spec.inbound_dedup_days,
        charge_back_returns=spec.charge_back_returns,
        steps=(*consent, *steps),  # consent first: a lead without it is not checked further
        inbound=inbound,
        rate_limits=rate_limits,
        key_rate_limits=key_rate_limits,
        own_key_rate_limits=own_key_rate_limits,
        ping_dedup=ping_dedup,
        forms=forms,
    )
