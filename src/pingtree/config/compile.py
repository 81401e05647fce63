"""Compiling a configuration document into the domain's frozen dataclasses.

:func:`compile_config` checks everything the shape cannot: unique ids, references between
entities, vertical field rules, filters (compiled against the order's vertical), geography
sugar, schedules, time zones, caps, pricing and campaign ranges. It collects every issue,
each at its YAML path with the offending value, before raising one :class:`ConfigError`.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from pingtree.config.consent import compile_consent
from pingtree.config.dispositions import with_dispositions
from pingtree.config.errors import ConfigError, ConfigIssue, join_path
from pingtree.config.forms import compile_forms, form_id_issues
from pingtree.config.inbound import compile_inbound
from pingtree.config.parse import load_yaml, parse_config
from pingtree.config.protection import compile_ping_dedup, compile_rate_limits
from pingtree.config.quality import compile_steps, with_step_results
from pingtree.config.schema import (
    BidPricingSpec,
    BuyerSpec,
    CampaignSpec,
    CapSpec,
    ConditionSpec,
    ConfigDocument,
    FilterGroupSpec,
    FloorSpec,
    GeoSpec,
    OrderSpec,
    PricingSpec,
    ReturnRuleSpec,
    RevenueSharePayoutSpec,
    ScheduleSpec,
    SupplierSpec,
    VerticalSpec,
)
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.delivery.spec import DeliveryConfigError, compile_delivery
from pingtree.domain.fields import pii_field_names, with_tracking_fields
from pingtree.domain.filter_gates import field_gates, state_gate
from pingtree.domain.filters import FilterConfigError, compile_filter
from pingtree.domain.model import (
    DEFAULT_RETURN_REASONS,
    Account,
    AccountKind,
    Buyer,
    Campaign,
    Cap,
    CapKind,
    CompiledFilter,
    Condition,
    FieldGate,
    FieldSpec,
    FieldType,
    FilterGroup,
    FilterOp,
    Order,
    PayoutModel,
    PingOptions,
    Pricing,
    PricingKind,
    Requirement,
    ReturnReason,
    ReturnRule,
    ReturnRuleAction,
    Schedule,
    Supplier,
    Vertical,
    WeeklyInterval,
)
from pingtree.domain.money import parse_money, to_cents
from pingtree.domain.postbacks import MACROS, unknown_macros
from pingtree.domain.quality import with_result_fields
from pingtree.domain.schedules import parse_hhmm_range

__all__ = [
    "CompiledConfig",
    "ConfigError",
    "ConfigIssue",
    "compile_config",
    "load_yaml",
    "parse_config",
]

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ZIP_PREFIX = re.compile(r"[0-9]{1,5}")
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CompiledConfig:
    """The whole configuration, compiled; every mapping is keyed by id, in document order."""

    verticals: Mapping[str, Vertical] = field(default_factory=dict)
    suppliers: Mapping[str, Supplier] = field(default_factory=dict)
    campaigns: Mapping[str, Campaign] = field(default_factory=dict)
    buyers: Mapping[str, Buyer] = field(default_factory=dict)
    orders: Mapping[str, Order] = field(default_factory=dict)
    #: the HTTP delivery of the orders that have one, by order id
    deliveries: Mapping[str, CompiledDelivery] = field(default_factory=dict)


def compile_config(doc: ConfigDocument) -> CompiledConfig:
    """Check and compile ``doc``. Raises :class:`ConfigError` listing every issue found."""
    issues = _Issues()
    _check_unique_ids(doc, issues)

    verticals: dict[str, Vertical] = {}
    for i, vertical_spec in enumerate(doc.verticals):
        if vertical_spec.id not in verticals:
            vertical = _vertical(vertical_spec, f"verticals[{i}]", issues)
            verticals[vertical_spec.id] = with_dispositions(
                vertical, vertical_spec.dispositions, f"verticals[{i}].dispositions", issues.add
            )

    suppliers: dict[str, Supplier] = {}
    campaigns: dict[str, Campaign] = {}
    for i, supplier_spec in enumerate(doc.suppliers):
        if supplier_spec.id in suppliers:
            continue
        suppliers[supplier_spec.id] = _supplier(supplier_spec, f"suppliers[{i}]", issues)
        for j, campaign_spec in enumerate(supplier_spec.campaigns):
            path = f"suppliers[{i}].campaigns[{j}]"
            campaign = _campaign(campaign_spec, supplier_spec, path, verticals, issues)
            if campaign is not None and campaign.id not in campaigns:
                campaigns[campaign.id] = campaign
    for issue in form_id_issues(doc.suppliers):
        issues.add(*issue)

    buyers: dict[str, Buyer] = {}
    orders: dict[str, Order] = {}
    deliveries: dict[str, CompiledDelivery] = {}
    # orders may filter on the results of their vertical's campaigns' HTTP steps
    order_verticals, result_issues = with_step_results(verticals, campaigns.values())
    for issue in result_issues:
        issues.add(*issue)
    for i, buyer_spec in enumerate(doc.buyers):
        if buyer_spec.id in buyers:
            continue
        buyers[buyer_spec.id] = _buyer(buyer_spec, f"buyers[{i}]", issues)
        for j, order_spec in enumerate(buyer_spec.orders):
            path = f"buyers[{i}].orders[{j}]"
            order = _order(order_spec, buyer_spec, path, order_verticals, issues)
            if order is not None and order.id not in orders:
                delivery = _delivery(order_spec, order, verticals, path, issues)
                orders[order.id] = _pinged(order, delivery)
                if delivery is not None:
                    deliveries[order.id] = delivery

    if issues:
        raise ConfigError(issues)
    return CompiledConfig(
        verticals=verticals,
        suppliers=suppliers,
        campaigns=campaigns,
        buyers=buyers,
        orders=orders,
        deliveries=deliveries,
    )


def _delivery(
    spec: OrderSpec,
    order: Order,
    verticals: Mapping[str, Vertical],
    path: str,
    issues: _Issues,
) -> CompiledDelivery | None:
    """The order's HTTP steps, compiled; a bid order needs a ping step to be asked, and a
    fixed-price order's ping step is accept-only (it reads no bid)."""
    vertical = verticals[order.vertical_id]
    delivery: CompiledDelivery | None = None
    if spec.delivery is not None:
        try:
            delivery = compile_delivery(
                spec.delivery,
                pii_fields=pii_field_names(vertical),
                known_fields=frozenset(f.name for f in vertical.fields),
                fixed_price=order.pricing.kind is PricingKind.FIXED,
            )
        except DeliveryConfigError as exc:
            for relative, msg in exc.issues:
                issues.add(join_path(f"{path}.delivery", relative), msg)
            return None
    if order.pricing.kind is PricingKind.BID and (delivery is None or delivery.ping is None):
        issues.add(f"{path}.delivery.ping", "a bid order needs a ping step to ask for its price")
    return delivery


def _pinged(order: Order, delivery: CompiledDelivery | None) -> Order:
    """A fixed-price order with a ping step is asked first (its ping is accept-only)."""
    if order.pricing.kind is PricingKind.FIXED and delivery is not None and delivery.ping:
        return replace(order, pricing=replace(order.pricing, pinged=True))
    return order


class _Issues(list[ConfigIssue]):
    def add(self, path: str, msg: str, value: object = None) -> None:
        issue = ConfigIssue(path, msg, value)
        if issue not in self:  # a `daily` range is checked once per weekday
            self.append(issue)


def _check_unique_ids(doc: ConfigDocument, issues: _Issues) -> None:
    def check(kind: str, entries: Iterable[tuple[str, str]]) -> None:
        seen: dict[str, str] = {}
        for path, entity_id in entries:
            if entity_id in seen:
                issues.add(
                    f"{path}.id", f"duplicate {kind} id (first at {seen[entity_id]})", entity_id
                )
            else:
                seen[entity_id] = path

    check("vertical", ((f"verticals[{i}]", v.id) for i, v in enumerate(doc.verticals)))
    check("supplier", ((f"suppliers[{i}]", s.id) for i, s in enumerate(doc.suppliers)))
    check(
        "campaign",
        (
            (f"suppliers[{i}].campaigns[{j}]", c.id)
            for i, s in enumerate(doc.suppliers)
            for j, c in enumerate(s.campaigns)
        ),
    )
    check("buyer", ((f"buyers[{i}]", b.id) for i, b in enumerate(doc.buyers)))
    check(
        "order",
        (
            (f"buyers[{i}].orders[{j}]", o.id)
            for i, b in enumerate(doc.buyers)
            for j, o in enumerate(b.orders)
        ),
    )


# --- verticals --------------------------------------------------------------------------------


def _vertical(spec: VerticalSpec, path: str, issues: _Issues) -> Vertical:
    tracking = {tracked.name for tracked in with_tracking_fields(())}
    fields: list[FieldSpec] = []
    seen: dict[str, str] = {}
    for j, field_spec in enumerate(spec.fields):
        fpath = f"{path}.fields[{j}]"
        name = field_spec.name
        if name in tracking:
            issues.add(
                f"{fpath}.name", "is a tracking field every vertical inherits; remove it", name
            )
            continue
        if name in seen:
            issues.add(f"{fpath}.name", f"duplicate field name (first at {seen[name]})", name)
            continue
        seen[name] = fpath
        kind = field_spec.type
        if kind is FieldType.ENUM and not field_spec.values:
            issues.add(f"{fpath}.values", "an enum field needs a list of values")
        if kind is not FieldType.ENUM and field_spec.values:
            issues.add(f"{fpath}.values", "only an enum field takes values", field_spec.values)
        folded = [value.casefold() for value in field_spec.values]
        for k, value in enumerate(field_spec.values):
            if folded.index(value.casefold()) != k:
                issues.add(f"{fpath}.values[{k}]", "duplicate value", value)
        numeric = kind in (FieldType.INTEGER, FieldType.DECIMAL)
        for bound in ("min", "max"):
            bound_value = getattr(field_spec, bound)
            if bound_value is not None and not numeric:
                issues.add(f"{fpath}.{bound}", "only integer and decimal fields take min and max")
        low, high = field_spec.min, field_spec.max
        if low is not None and high is not None and low > high:
            issues.add(f"{fpath}.max", f"must not be less than min ({low})", high)
        if field_spec.max_length < 1:
            issues.add(f"{fpath}.max_length", "must be at least 1", field_spec.max_length)
        if field_spec.pii and field_spec.ping is Requirement.REQUIRED:
            issues.add(
                f"{fpath}.ping", "a PII field never travels in a ping; it cannot be required there"
            )
        if field_spec.pii and field_spec.report_dimension:
            issues.add(
                f"{fpath}.report_dimension",
                "a PII field cannot be a report dimension: reports show its values",
            )
        fields.append(
            FieldSpec(
                name=name,
                type=kind,
                pii=field_spec.pii,
                ping=field_spec.ping,
                post=field_spec.post,
                label=field_spec.label,
                values=tuple(field_spec.values),
                min=low,
                max=high,
                max_length=field_spec.max_length,
                report_dimension=field_spec.report_dimension,
            )
        )
    try:
        all_fields = with_tracking_fields(fields)
    except ValueError as exc:  # the checks above should have caught it
        issues.add(f"{path}.fields", str(exc))
        all_fields = tuple(fields)
    reasons: list[ReturnReason] = []
    for j, reason in enumerate(spec.return_reasons):
        if any(seen.code == reason.code for seen in reasons):
            issues.add(f"{path}.return_reasons[{j}].code", "duplicate reason", reason.code)
            continue
        label = reason.label or reason.code.replace("_", " ").capitalize()
        reasons.append(ReturnReason(reason.code, label, reason.auto_approve))
    steps, step_issues = compile_steps(spec.steps, all_fields, f"{path}.steps")
    for issue in step_issues:
        issues.add(*issue)
    return Vertical(
        id=spec.id,
        name=spec.name or spec.id,
        fields=all_fields,
        return_reasons=tuple(reasons) or DEFAULT_RETURN_REASONS,
        steps=steps,
    )


def _vertical_ref(
    name: str, path: str, verticals: Mapping[str, Vertical], issues: _Issues
) -> Vertical | None:
    vertical = verticals.get(name)
    if vertical is None:
        issues.add(f"{path}.vertical", f"unknown vertical {name!r}", name)
    return vertical


# --- suppliers and campaigns ------------------------------------------------------------------


def _supplier(spec: SupplierSpec, path: str, issues: _Issues) -> Supplier:
    rule = _return_rule(spec.return_rule, f"{path}.return_rule", issues)
    if rule is not None and rule.action is not ReturnRuleAction.PAUSE:
        issues.add(f"{path}.return_rule.action", "a supplier's rule can only pause it", rule.action)
    return Supplier(id=spec.id, name=spec.name or spec.id, active=spec.active, return_rule=rule)


def _return_rule(spec: ReturnRuleSpec | None, path: str, issues: _Issues) -> ReturnRule | None:
    if spec is None:
        return None
    if not 0 <= spec.max_rate <= 100:
        issues.add(f"{path}.max_rate", "must be a percentage, from 0 to 100", spec.max_rate)
    return ReturnRule(spec.max_rate, spec.min_sales, spec.days, spec.action, spec.demote_by)


def _campaign(
    spec: CampaignSpec,
    supplier: SupplierSpec,
    path: str,
    verticals: Mapping[str, Vertical],
    issues: _Issues,
) -> Campaign | None:
    vertical = _vertical_ref(spec.vertical, path, verticals, issues)
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

    _at_least(issues, f"{path}.max_sells", spec.max_sells, 1)
    _at_least(issues, f"{path}.ping_ttl_seconds", spec.ping_ttl_seconds, 1)
    _at_least(issues, f"{path}.ping_deadline_ms", spec.ping_deadline_ms, 1)
    _at_least(issues, f"{path}.inbound_dedup_days", spec.inbound_dedup_days, 0)

    options = spec.ping_options
    opath = f"{path}.ping_options"
    _at_least(issues, f"{opath}.min_buyers", options.min_buyers, 1)
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


# --- buyers and orders ------------------------------------------------------------------------


def _buyer(spec: BuyerSpec, path: str, issues: _Issues) -> Buyer:
    _check_timezone(spec.timezone, f"{path}.timezone", issues)
    return Buyer(
        id=spec.id,
        name=spec.name or spec.id,
        active=spec.active,
        caps=_caps(spec.budget, f"{path}.budget", issues),
        timezone=spec.timezone,
        account=_account(spec, path, issues),
        return_rule=_return_rule(spec.return_rule, f"{path}.return_rule", issues),
    )


def _account(spec: BuyerSpec, path: str, issues: _Issues) -> Account | None:
    account = spec.account
    if account is None:
        return None
    if account.credit_limit < 0:
        issues.add(f"{path}.account.credit_limit", "must not be negative", account.credit_limit)
    if account.kind is AccountKind.PREPAID and account.credit_limit:
        issues.add(
            f"{path}.account.credit_limit",
            "is for a credit account; a prepaid one spends its balance only",
            account.credit_limit,
        )
    return Account(account.kind, to_cents(account.credit_limit) if account.credit_limit > 0 else 0)


def _order(
    spec: OrderSpec,
    buyer: BuyerSpec,
    path: str,
    verticals: Mapping[str, Vertical],
    issues: _Issues,
) -> Order | None:
    vertical = _vertical_ref(spec.vertical, path, verticals, issues)
    _at_least(issues, f"{path}.priority", spec.priority, 0)
    _at_least(issues, f"{path}.weight", spec.weight, 1)
    _at_least(issues, f"{path}.dedup_days", spec.dedup_days, 0)
    pricing = _pricing(spec.pricing, f"{path}.pricing", issues)
    caps = _caps(spec.caps, f"{path}.caps", issues)

    if spec.timezone is not None:
        _check_timezone(spec.timezone, f"{path}.timezone", issues)
    schedule: Schedule | None = None
    if spec.schedule is not None:
        zone = spec.schedule.timezone or spec.timezone or buyer.timezone
        schedule = _schedule(spec.schedule, zone, f"{path}.schedule", issues)
    timezone = spec.timezone or (schedule.timezone if schedule else None) or buyer.timezone

    compiled_filter: CompiledFilter | None = None
    gate: frozenset[str] | None = None
    gates: tuple[FieldGate, ...] = ()
    if vertical is not None:
        vertical = with_result_fields(vertical)  # filters may name the steps' results too
        group = _filter_group(spec.filters, spec.geo, vertical, path, issues)
        if group is not None:
            compiled_filter, gate = _compile_group(group, vertical, path, issues)
            gates = field_gates(group, vertical) if compiled_filter is not None else ()

    if vertical is None:
        return None
    return Order(
        id=spec.id,
        buyer_id=buyer.id,
        vertical_id=vertical.id,
        name=spec.name or spec.id,
        status=spec.status,
        pricing=pricing,
        filter=compiled_filter,
        state_gate=gate,
        gates=gates,
        caps=caps,
        schedule=schedule,
        priority=spec.priority,
        weight=spec.weight,
        dedup_days=spec.dedup_days,
        test_mode=spec.test_mode,
        timezone=timezone,
        delivery=spec.delivery,
        return_window_days=spec.return_window_days,
    )


def _floor(
    spec: Decimal | FloorSpec | None, path: str, issues: _Issues
) -> tuple[Decimal | None, bool]:
    """The floor and whether a bid must be strictly above it (``{gt: …}``)."""
    if not isinstance(spec, FloorSpec):
        return spec, False
    if (spec.gt is None) == (spec.ge is None):
        issues.add(path, "exactly one of gt and ge")
        return None, False
    return (spec.gt, True) if spec.gt is not None else (spec.ge, False)


def _pricing(spec: PricingSpec, path: str, issues: _Issues) -> Pricing:
    if isinstance(spec, BidPricingSpec):
        if not spec.legs:
            issues.add(f"{path}.legs", "needs exclusive, shared or both")
        for k, leg in enumerate(spec.legs):
            if spec.legs.index(leg) != k:
                issues.add(f"{path}.legs[{k}]", "duplicate leg", str(leg))
        floor, strict = _floor(spec.floor, f"{path}.floor", issues)
        if spec.max_bid is not None and spec.max_bid <= 0:
            issues.add(f"{path}.max_bid", "must be greater than 0", spec.max_bid)
        elif floor is not None and spec.max_bid is not None and floor > spec.max_bid:
            issues.add(f"{path}.floor", f"must not exceed max_bid ({spec.max_bid})", floor)
        return Pricing(
            kind=PricingKind.BID,
            legs=frozenset(spec.legs),
            floor=floor,
            max_bid=spec.max_bid,
            floor_strict=strict,
        )
    if spec.exclusive is None and spec.shared is None:
        issues.add(path, "a fixed price needs an exclusive price, a shared price or both")
    for leg_name, price in (("exclusive", spec.exclusive), ("shared", spec.shared)):
        if price is not None and price <= 0:
            issues.add(f"{path}.{leg_name}", "must be greater than 0", price)
    return Pricing(kind=PricingKind.FIXED, exclusive=spec.exclusive, shared=spec.shared)


def _caps(specs: Sequence[CapSpec], path: str, issues: _Issues) -> tuple[Cap, ...]:
    caps: list[Cap] = []
    seen: set[tuple[CapKind, str]] = set()
    for k, spec in enumerate(specs):
        cpath = f"{path}[{k}]"
        key = (spec.kind, str(spec.window))
        if key in seen:
            issues.add(cpath, f"duplicate {spec.kind} cap per {spec.window}")
            continue
        seen.add(key)
        limit = spec.limit
        if limit <= 0:
            issues.add(f"{cpath}.limit", "must be greater than 0", limit)
            continue
        if spec.kind is CapKind.COUNT:
            if limit != limit.to_integral_value():
                issues.add(f"{cpath}.limit", "a count cap needs a whole number", limit)
                continue
            caps.append(Cap(spec.kind, spec.window, int(limit)))
        else:
            try:
                cents = to_cents(parse_money(limit))
            except ValueError as exc:
                issues.add(f"{cpath}.limit", f"a spend cap needs an amount of money: {exc}", limit)
                continue
            caps.append(Cap(spec.kind, spec.window, cents))
    return tuple(caps)


# --- filters and geography --------------------------------------------------------------------


def _filter_group(
    filters: FilterGroupSpec | None,
    geo: GeoSpec | None,
    vertical: Vertical,
    path: str,
    issues: _Issues,
) -> FilterGroup | None:
    """The order's filters ANDed with its geography, each part checked against its vertical."""
    ok = True
    user_group = _group(filters) if filters is not None else None
    if user_group is not None:
        try:
            compile_filter(user_group, vertical)
        except FilterConfigError as exc:
            issues.add(join_path(f"{path}.filters", exc.path), exc.msg)
            ok = False

    geo_conditions: list[Condition | FilterGroup] = []
    if geo is not None:
        geo_conditions, geo_ok = _geo(geo, vertical, f"{path}.geo", issues)
        ok = ok and geo_ok

    if not ok:
        return None
    if geo_conditions:
        items: list[Condition | FilterGroup] = [*geo_conditions]
        if user_group is not None:
            items.insert(0, user_group)
        group = FilterGroup("all", tuple(items))
    elif user_group is not None:
        group = user_group
    else:
        return None
    return group


def _compile_group(
    group: FilterGroup, vertical: Vertical, path: str, issues: _Issues
) -> tuple[CompiledFilter | None, frozenset[str] | None]:
    try:
        return compile_filter(group, vertical), state_gate(group, vertical)
    except FilterConfigError as exc:  # each part compiled alone; kept for safety
        issues.add(f"{path}.filters", exc.msg)
        return None, None


def _geo(
    geo: GeoSpec, vertical: Vertical, path: str, issues: _Issues
) -> tuple[list[Condition | FilterGroup], bool]:
    """The geography sugar as filter items: states → ``state in``; zips → ``zip in`` and
    zip_prefixes → ``zip starts_with``, ORed when both are given (both say which zips)."""
    parts: dict[str, Condition] = {}
    ok = True
    for key, field_name, op, values in (
        ("states", "state", FilterOp.IN, geo.states),
        ("zips", "zip", FilterOp.IN, geo.zips),
        ("zip_prefixes", "zip", FilterOp.STARTS_WITH, geo.zip_prefixes),
    ):
        if not values:
            continue
        if vertical.field(field_name) is None:
            issues.add(f"{path}.{key}", f"vertical {vertical.id!r} has no {field_name!r} field")
            ok = False
            continue
        if key == "zip_prefixes":
            for k, prefix in enumerate(values):
                if not _ZIP_PREFIX.fullmatch(prefix):
                    issues.add(f"{path}.{key}[{k}]", "must be 1 to 5 digits", prefix)
                    ok = False
        condition = Condition(field_name, op, tuple(values))
        try:
            compile_filter(FilterGroup("all", (condition,)), vertical)
        except FilterConfigError as exc:
            # exc.path is "all[0].value…": the rest names the list item
            rest = exc.path.removeprefix("all[0]").removeprefix(".value")
            issues.add(f"{path}.{key}{rest}", exc.msg)
            ok = False
        parts[key] = condition
    if not ok:
        return [], False
    items: list[Condition | FilterGroup] = []
    if "states" in parts:
        items.append(parts["states"])
    zips = [parts[key] for key in ("zips", "zip_prefixes") if key in parts]
    if len(zips) == 1:
        items.append(zips[0])
    elif zips:
        items.append(FilterGroup("any", tuple(zips)))
    return items, True


def _group(spec: FilterGroupSpec) -> FilterGroup:
    mode, items = ("all", spec.all) if spec.all is not None else ("any", spec.any or [])
    return FilterGroup(
        mode,
        tuple(
            _condition(item) if isinstance(item, ConditionSpec) else _group(item) for item in items
        ),
    )


def _condition(spec: ConditionSpec) -> Condition:
    return Condition(spec.field, spec.op, _freeze(spec.value))


def _freeze(value: object) -> object:
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


# --- schedules and time zones -----------------------------------------------------------------


def _schedule(spec: ScheduleSpec, zone: str, path: str, issues: _Issues) -> Schedule:
    if spec.timezone is not None:
        _check_timezone(spec.timezone, f"{path}.timezone", issues)
    intervals: list[WeeklyInterval] = []
    for weekday, day in enumerate(_WEEKDAYS):
        ranges: list[str] | None = getattr(spec.hours, day)
        key = day
        if ranges is None:
            ranges, key = spec.hours.daily, "daily"
        for k, text in enumerate(ranges or ()):
            try:
                start, end = parse_hhmm_range(text)
            except ValueError as exc:
                issues.add(f"{path}.hours.{key}[{k}]", str(exc))
                continue
            intervals.append(WeeklyInterval(weekday, start, end))
    return Schedule(timezone=zone, intervals=tuple(intervals), closed_dates=frozenset(spec.closed))


def _check_timezone(name: str, path: str, issues: _Issues) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        issues.add(path, "unknown time zone (use an IANA name such as America/New_York)", name)


def _at_least(issues: _Issues, path: str, value: int, low: int) -> None:
    if value < low:
        issues.add(path, f"must be at least {low}", value)
