"""The configuration as the UI's pages read and change it, through the principal: the
entities, an order's caps with their use now. Reading is the staff's (``api.scoping``: the
``config`` section); changing is an admin's or an operator's."""

from __future__ import annotations

from pingtree.api.scoping import open_section
from pingtree.config import entities
from pingtree.config.entities import Change, Entity, Kind
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store.reports import CapUse, cap_usage

__all__ = [
    "CapUse",
    "cap_uses",
    "entity",
    "entity_list",
    "may_edit_config",
    "require_editor",
    "save",
    "switch",
]


def may_edit_config(principal: Principal) -> bool:
    return principal.may_operate


def require_editor(principal: Principal) -> None:
    """:class:`Forbidden` unless ``principal`` may change the configuration."""
    if not may_edit_config(principal):
        raise Forbidden(f"The {principal.role} role may not change the configuration.")


async def entity_list(ports: Ports, principal: Principal, kind: Kind) -> list[Entity]:
    """Every stored entity of ``kind``, in id order."""
    open_section(principal, "config")
    return await entities.list_entities(ports.sessions, kind)


async def entity(ports: Ports, principal: Principal, kind: Kind, entity_id: str) -> Entity:
    """One stored entity; ``NotFound`` if there is none."""
    open_section(principal, "config")
    return await entities.get_entity(ports.sessions, kind, entity_id)


async def save(
    ports: Ports,
    principal: Principal,
    kind: Kind,
    entity_id: str,
    spec: object,
    parent_id: str | None = None,
) -> Change:
    """Create or replace one entity (:func:`pingtree.config.entities.put_entity`, as
    ``pingtree apply`` would) and load the new snapshot."""
    require_editor(principal)
    change = await entities.put_entity(
        ports.sessions, kind, entity_id, spec, ports.clock.now(), parent_id=parent_id
    )
    return await _loaded(ports, change)


async def switch(
    ports: Ports, principal: Principal, kind: Kind, entity_id: str, *, paused: bool
) -> Change:
    """Pause or resume one entity and load the new snapshot. A buyer's user may pause and
    resume its own buyer's orders (its portal), nothing else."""
    if not _own_order(ports, principal, kind, entity_id):
        require_editor(principal)
    change = await entities.set_paused(ports.sessions, kind, entity_id, paused, ports.clock.now())
    return await _loaded(ports, change)


async def _loaded(ports: Ports, change: Change) -> Change:
    """``change``, once the new snapshot is loaded: the next ping in this process sees it."""
    if change.diff.changed:
        await ports.snapshots.refresh()
        await ports.announce_config()
    return change


def _own_order(ports: Ports, principal: Principal, kind: Kind, entity_id: str) -> bool:
    if principal.role != "buyer" or principal.buyer_id is None or kind is not Kind.ORDERS:
        return False
    order = ports.snapshots.current().config.orders.get(entity_id)
    return order is not None and order.buyer_id == principal.buyer_id


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
