"""One configured entity at a time: list, read, create or replace, pause and resume.

The admin API's entity routes and the admin UI's forms both call these. A change is an
apply of a document holding just that entity (a campaign or an order inside its parent):
``apply_config`` merges it with what is stored, so validation and messages are exactly
``pingtree apply``'s, and the other entities stay as stored. Issues inside the entity are
reported at paths relative to its spec (``caps[0].limit``); issues elsewhere keep their
document paths (``buyers[1].orders[0].filters``).

An unknown id raises :class:`~pingtree.flows.errors.NotFound`; invalid input raises
:class:`~pingtree.config.errors.ConfigError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.apply import apply_config
from pingtree.config.buyer_spec import BuyerSpec, OrderSpec
from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.config.parse import parse_config
from pingtree.config.schema import ConfigDocument, canonical
from pingtree.config.supplier_spec import CampaignSpec, SupplierSpec
from pingtree.flows.errors import NotFound
from pingtree.store.config_repo import ConfigDiff, ConfigRepository

__all__ = [
    "Change",
    "Entity",
    "Kind",
    "get_entity",
    "list_entities",
    "put_entity",
    "set_paused",
    "spec_yaml",
]


class Kind(StrEnum):
    """The kinds of configured entity, as named in addresses (plural)."""

    VERTICALS = "verticals"
    SUPPLIERS = "suppliers"
    CAMPAIGNS = "campaigns"
    BUYERS = "buyers"
    ORDERS = "orders"

    @property
    def singular(self) -> str:
        return self.value.removesuffix("s")

    @property
    def parent(self) -> Kind | None:
        """The kind an entity of this kind belongs to: a campaign's supplier, an order's buyer."""
        return _PARENTS.get(self)


_PARENTS = {Kind.CAMPAIGNS: Kind.SUPPLIERS, Kind.ORDERS: Kind.BUYERS}
#: the key of a parent's children in its spec
_CHILDREN = {Kind.SUPPLIERS: "campaigns", Kind.BUYERS: "orders"}


@dataclass(frozen=True)
class Entity:
    kind: Kind
    id: str
    #: the canonical spec (defaults left out), without children
    spec: dict[str, Any]
    #: ``active`` or ``paused``; a vertical is always active
    status: str
    #: a campaign's supplier, an order's buyer
    parent_id: str | None = None
    #: a supplier's campaigns, a buyer's orders, in id order
    children: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "id": self.id,
            "status": self.status,
            "parent_id": self.parent_id,
            "children": list(self.children),
            "spec": self.spec,
        }


@dataclass(frozen=True)
class Change:
    """What a put did to one entity."""

    entity: Entity
    created: bool
    diff: ConfigDiff


async def list_entities(sessions: async_sessionmaker[AsyncSession], kind: Kind) -> list[Entity]:
    """Every stored entity of ``kind`` (archived ones left out), in id order."""
    return _entities(await _stored(sessions), kind)


async def get_entity(
    sessions: async_sessionmaker[AsyncSession], kind: Kind, entity_id: str
) -> Entity:
    """The stored entity; :class:`NotFound` if there is none (or it was archived)."""
    return _find(await _stored(sessions), kind, entity_id)


async def put_entity(
    sessions: async_sessionmaker[AsyncSession],
    kind: Kind,
    entity_id: str,
    spec: object,
    now: dt.datetime,
    *,
    parent_id: str | None = None,
) -> Change:
    """Create or replace one entity with ``spec`` (a mapping as read from JSON or YAML).

    ``spec`` may leave out its ``id``; a different one is an issue. A new campaign or order
    needs ``parent_id`` (its supplier or buyer); an existing one moves there if given.
    Children given in a supplier's or buyer's spec are put too; those left out stay.
    Raises :class:`ConfigError` (nothing written) with every issue.
    """
    if not isinstance(spec, Mapping):
        raise ConfigError([ConfigIssue("", "must be a mapping of the entity's keys", spec)])
    if spec.get("id", entity_id) != entity_id:
        raise ConfigError([ConfigIssue("id", "must be the id in the address", spec["id"])])
    stored = await _stored(sessions)
    existing = _lookup(stored, kind, entity_id)
    overlay, prefix = _overlay(stored, kind, {**spec, "id": entity_id}, existing, parent_id)
    try:
        diff = await apply_config(sessions, parse_config(overlay), now)
    except ConfigError as error:
        raise ConfigError(_relative(issue, prefix) for issue in error.issues) from None
    return Change(await get_entity(sessions, kind, entity_id), created=existing is None, diff=diff)


async def set_paused(
    sessions: async_sessionmaker[AsyncSession],
    kind: Kind,
    entity_id: str,
    paused: bool,
    now: dt.datetime,
) -> Change:
    """Pause or resume an order (its ``status``), a buyer, a supplier or a campaign (its
    ``active``). A paused entity takes no part in the next ping; its caps keep their use.
    Raises ``ValueError`` for a vertical, which has no status."""
    if kind is Kind.VERTICALS:
        raise ValueError("a vertical cannot be paused")
    entity = await get_entity(sessions, kind, entity_id)
    if kind is Kind.ORDERS:
        switch: dict[str, Any] = {"status": "paused" if paused else "active"}
    else:
        switch = {"active": not paused}
    return await put_entity(
        sessions, kind, entity_id, {**entity.spec, **switch}, now, parent_id=entity.parent_id
    )


def spec_yaml(value: object) -> str:
    """A spec, or a part of one, as YAML text: keys in spec order, short lists on one line."""
    if value is None:
        return ""
    text: str = yaml.safe_dump(
        value, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )
    return text.removesuffix("...\n")


# --- the stored document ----------------------------------------------------------------------


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> ConfigDocument:
    async with sessions() as session:
        return await ConfigRepository(session).load_document()


def _all_of(doc: ConfigDocument, kind: Kind) -> list[tuple[BaseModel, str | None]]:
    """Each entity of ``kind`` with its parent's id."""
    if kind is Kind.VERTICALS:
        return [(vertical, None) for vertical in doc.verticals]
    if kind is Kind.SUPPLIERS:
        return [(supplier, None) for supplier in doc.suppliers]
    if kind is Kind.BUYERS:
        return [(buyer, None) for buyer in doc.buyers]
    if kind is Kind.CAMPAIGNS:
        return [(c, supplier.id) for supplier in doc.suppliers for c in supplier.campaigns]
    return [(o, buyer.id) for buyer in doc.buyers for o in buyer.orders]


def _entities(doc: ConfigDocument, kind: Kind) -> list[Entity]:
    entities = [_entity(kind, spec, parent_id) for spec, parent_id in _all_of(doc, kind)]
    return sorted(entities, key=lambda entity: entity.id)


def _lookup(doc: ConfigDocument, kind: Kind, entity_id: str) -> Entity | None:
    return next((e for e in _entities(doc, kind) if e.id == entity_id), None)


def _find(doc: ConfigDocument, kind: Kind, entity_id: str) -> Entity:
    entity = _lookup(doc, kind, entity_id)
    if entity is None:
        raise NotFound(f"no {kind.singular} {entity_id!r}")
    return entity


def _entity(kind: Kind, spec: BaseModel, parent_id: str | None) -> Entity:
    children_key = _CHILDREN.get(kind)
    exclude = {children_key} if children_key else None
    data = canonical(spec, exclude=exclude)
    children: list[BaseModel] = getattr(spec, children_key) if children_key else []
    return Entity(
        kind=kind,
        id=data["id"],
        spec=data,
        status=_status(spec),
        parent_id=parent_id,
        children=tuple(sorted(str(getattr(child, "id", "")) for child in children)),
    )


def _status(spec: BaseModel) -> str:
    if isinstance(spec, OrderSpec):
        return spec.status.value
    if isinstance(spec, BuyerSpec | SupplierSpec | CampaignSpec):
        return "active" if spec.active else "paused"
    return "active"


# --- the document to apply ----------------------------------------------------------------------


def _overlay(
    stored: ConfigDocument,
    kind: Kind,
    spec: dict[str, Any],
    existing: Entity | None,
    parent_id: str | None,
) -> tuple[dict[str, Any], str]:
    """The document to apply for ``spec``, and the YAML path of the entity in it."""
    parent_kind = kind.parent
    if parent_kind is None:
        return {kind.value: [spec]}, f"{kind.value}[0]"
    parent_id = parent_id or (existing.parent_id if existing else None)
    parent_field = f"{parent_kind.singular}_id"
    if parent_id is None:
        raise ConfigError([ConfigIssue(parent_field, f"required for a new {kind.singular}")])
    parent = _lookup(stored, parent_kind, parent_id)
    if parent is None:
        raise ConfigError([ConfigIssue(parent_field, f"no {parent_kind.singular}", parent_id)])
    # the parent as stored, with this one child: its other children stay as they are
    children_key = _CHILDREN[parent_kind]
    document = {parent_kind.value: [{**parent.spec, children_key: [spec]}]}
    return document, f"{parent_kind.value}[0].{children_key}[0]"


def _relative(issue: ConfigIssue, prefix: str) -> ConfigIssue:
    """``issue`` at a path relative to the entity at ``prefix``, if it lies inside it."""
    if issue.path == prefix:
        return ConfigIssue("", issue.msg, issue.value)
    if issue.path.startswith(prefix + "."):
        return ConfigIssue(issue.path.removeprefix(prefix + "."), issue.msg, issue.value)
    return issue
