"""Compiling a configuration document into the domain's frozen dataclasses.

:func:`compile_config` checks everything the shape cannot: unique ids, references between
entities, vertical field rules, filters (compiled against the order's vertical), geography
sugar, schedules, time zones, caps, pricing and campaign ranges. It collects every issue,
each at its YAML path with the offending value, before raising one :class:`ConfigError`.

Each kind of entity is compiled by its module: ``config.verticals``, ``config.suppliers``
(and campaigns), ``config.buyers`` (and orders, their filters by ``config.filters``). Here:
the document's ids, the order of the work, and an order's HTTP delivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from pingtree.config.buyer_spec import OrderSpec
from pingtree.config.buyers import compile_buyer, compile_order
from pingtree.config.dispositions import with_dispositions
from pingtree.config.errors import ConfigError, Issues, join_path
from pingtree.config.forms import form_id_issues
from pingtree.config.quality import with_step_results
from pingtree.config.schema import ConfigDocument
from pingtree.config.suppliers import compile_campaign, compile_supplier
from pingtree.config.verticals import compile_vertical
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.delivery.spec import DeliveryConfigError, compile_delivery
from pingtree.domain.campaigns import Campaign
from pingtree.domain.fields import pii_field_names
from pingtree.domain.orders import Order, PricingKind
from pingtree.domain.parties import Buyer, Supplier
from pingtree.domain.verticals import Vertical

__all__ = ["CompiledConfig", "compile_config"]


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
    issues = Issues()
    _check_unique_ids(doc, issues)

    verticals: dict[str, Vertical] = {}
    for i, vertical_spec in enumerate(doc.verticals):
        if vertical_spec.id not in verticals:
            vertical = compile_vertical(vertical_spec, f"verticals[{i}]", issues)
            verticals[vertical_spec.id] = with_dispositions(
                vertical, vertical_spec.dispositions, f"verticals[{i}].dispositions", issues.add
            )

    suppliers: dict[str, Supplier] = {}
    campaigns: dict[str, Campaign] = {}
    for i, supplier_spec in enumerate(doc.suppliers):
        if supplier_spec.id in suppliers:
            continue
        suppliers[supplier_spec.id] = compile_supplier(supplier_spec, f"suppliers[{i}]", issues)
        for j, campaign_spec in enumerate(supplier_spec.campaigns):
            path = f"suppliers[{i}].campaigns[{j}]"
            campaign = compile_campaign(campaign_spec, supplier_spec, path, verticals, issues)
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
        buyers[buyer_spec.id] = compile_buyer(buyer_spec, f"buyers[{i}]", issues)
        for j, order_spec in enumerate(buyer_spec.orders):
            path = f"buyers[{i}].orders[{j}]"
            order = compile_order(order_spec, buyer_spec, path, order_verticals, issues)
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
    issues: Issues,
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


def _check_unique_ids(doc: ConfigDocument, issues: Issues) -> None:
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
