"""What the configuration pages show beyond the entities themselves: an order's caps with
their use now. Staff only (``api.scoping``: the ``config`` section)."""

from __future__ import annotations

from pingtree.api.scoping import open_section
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.store.reports import CapUse, cap_usage

__all__ = ["CapUse", "cap_uses"]


async def cap_uses(ports: Ports, principal: Principal, order_id: str) -> list[CapUse]:
    """The order's caps and its buyer's budget with their use in the current windows, as
    ``GET /api/v1/admin/orders/{id}/caps`` reports them; none for an unknown order."""
    open_section(principal, "config")
    config = ports.snapshots.current().config
    order = config.orders.get(order_id)
    if order is None:
        return []
    buyer = config.buyers[order.buyer_id]
    return await cap_usage(ports.caps, order, buyer, ports.clock.now())
