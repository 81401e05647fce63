"""Test a buyer: a sample ping (and a post only when asked) to one order's configured
endpoints, shown in full.

find the order and its delivery → a sample lead of its vertical (overridable field by
field) → probe (ping with the non-PII fields; with ``post``, after an accepted ping only,
the full lead with the ping's token, marked as a test where the step says how).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pingtree.config.compile import CompiledConfig
from pingtree.delivery.client import BuyerClient
from pingtree.delivery.probe import probe_buyer, sample_lead
from pingtree.domain.fields import FieldError, FieldValueError, normalize_value, pii_field_names
from pingtree.flows.errors import InputError, NotFound

__all__ = ["try_buyer"]


async def try_buyer(
    config: CompiledConfig,
    order_id: str,
    overrides: Mapping[str, object],
    *,
    client: BuyerClient,
    resolve_secret: Callable[[str], str],
    post: bool = False,
) -> list[dict[str, Any]]:
    """Each step's request, response, reading and ``ok`` (sent, readable, accepted).
    :class:`NotFound` for an unknown order or one without HTTP delivery;
    :class:`InputError` for an override that is not a valid value."""
    order = config.orders.get(order_id)
    if order is None:
        raise NotFound(f"no order {order_id!r}")
    delivery = config.deliveries.get(order_id)
    if delivery is None:
        raise NotFound(f"order {order_id!r} has no HTTP delivery: its buyer collects its leads")
    vertical = config.verticals[order.vertical_id]
    values = {}
    errors = []
    for name, raw in overrides.items():
        spec = vertical.field(name)
        try:
            if spec is None:
                raise FieldValueError("unknown_field", f"{vertical.id} has no field {name!r}")
            values[name] = normalize_value(spec, raw)
        except FieldValueError as exc:
            errors.append(FieldError(("fields", name), exc.msg, exc.type, raw))
    if errors:
        raise InputError(errors)
    exchanges = await probe_buyer(
        client,
        delivery,
        sample_lead(vertical, values),
        pii_field_names(vertical),
        resolve_secret,
        max_bid=order.pricing.max_bid,
        post=post,
    )
    return [exchange.to_json() for exchange in exchanges]
