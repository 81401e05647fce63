"""The configuration in the database: one ``ConfigEntity`` row per entity (DESIGN §8.4).

A row's ``spec`` is the entity's YAML mapping in canonical form without its children (a
supplier's spec has no ``campaigns``, a buyer's no ``orders``; ``parent_id`` links them).
Every write bumps the single ``ConfigState`` row's ``version`` in the same transaction, so
workers know to rebuild their snapshot. The repository never commits: its caller owns the
transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.config.buyer_spec import BuyerSpec, OrderSpec
from pingtree.config.parse import parse_config
from pingtree.config.schema import ConfigDocument, canonical
from pingtree.config.supplier_spec import CampaignSpec, SupplierSpec
from pingtree.config.vertical_spec import VerticalSpec
from pingtree.store.accounts import open_accounts
from pingtree.store.tables import ConfigEntity, ConfigHistory, ConfigState

__all__ = ["KINDS", "ConfigDiff", "ConfigRepository", "EntityRef"]

log = logging.getLogger(__name__)

#: (kind, id) of one configured entity
EntityRef = tuple[str, str]

#: entity kinds, parents before children
KINDS = ("vertical", "supplier", "campaign", "buyer", "order")

_MODELS: dict[str, type[BaseModel]] = {
    "vertical": VerticalSpec,
    "supplier": SupplierSpec,
    "campaign": CampaignSpec,
    "buyer": BuyerSpec,
    "order": OrderSpec,
}
#: the key of a parent's children in its YAML mapping; stored as rows of their own
_CHILDREN = {"supplier": "campaigns", "buyer": "orders"}
_PARENT_KIND = {"campaign": "supplier", "order": "buyer"}
_MAX_SHOWN = 60


@dataclass(frozen=True)
class ConfigDiff:
    """What an apply changed (or, in a dry run, would change)."""

    created: tuple[EntityRef, ...] = ()
    updated: tuple[EntityRef, ...] = ()
    archived: tuple[EntityRef, ...] = ()
    #: entities of the document that were already stored as given
    unchanged: int = 0
    #: for each updated entity, what changed: ``"payout.percent 70 → 75"``
    changes: Mapping[EntityRef, tuple[str, ...]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.archived)

    def render(self) -> str:
        """One line per entity (``+`` created, ``~`` updated, ``-`` archived), then totals;
        ``no changes (N unchanged)`` when nothing changed."""
        if not self.changed:
            return f"no changes ({self.unchanged} unchanged)"
        lines = [f"+ {kind} {entity_id}" for kind, entity_id in self.created]
        for ref in self.updated:
            details = ", ".join(self.changes.get(ref, ()))
            lines.append(f"~ {ref[0]} {ref[1]}" + (f": {details}" if details else ""))
        lines += [f"- {kind} {entity_id} (archived)" for kind, entity_id in self.archived]
        lines.append(
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.archived)} archived, {self.unchanged} unchanged"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class _Entity:
    kind: str
    id: str
    parent_id: str | None
    #: canonical mapping without children
    spec: dict[str, Any]


class ConfigRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def version(self) -> int:
        """The configuration version; 0 before the first write."""
        version = await self._session.scalar(select(ConfigState.version).where(ConfigState.id == 1))
        return version or 0

    async def load_document(self, include_archived: bool = False) -> ConfigDocument:
        """The stored configuration as one nested document, each list ordered by id.

        Raises :class:`pingtree.config.errors.ConfigError` if a stored spec no longer fits
        the schema.
        """
        return _document(await self._rows(include_archived))

    async def load_version(self, version: int) -> ConfigDocument | None:
        """The configuration as it stood at ``version`` (archived entities left out), from
        the history every write keeps; ``None`` for a version older than the history.

        Raises :class:`pingtree.config.errors.ConfigError` as :meth:`load_document` does.
        """
        begun = await self._session.scalar(select(func.min(ConfigHistory.version)))
        if begun is None or version < begun:
            return None
        newest: dict[tuple[str, str], ConfigHistory] = {}
        rows = await self._session.scalars(
            select(ConfigHistory)
            .where(ConfigHistory.version <= version)
            .order_by(ConfigHistory.version)
        )
        for row in rows:
            newest[(row.kind, row.id)] = row
        return _document([row for row in newest.values() if not row.archived])

    async def apply(self, doc: ConfigDocument, now: dt.datetime, prune: bool = False) -> ConfigDiff:
        """Create and update the entities of ``doc``; bump the version iff anything changed.

        Stored entities missing from ``doc`` are kept, or archived with ``prune``; an
        archived entity present in ``doc`` is unarchived. ``doc`` must have been checked
        (compiled, merged with what is kept) by the caller. Never commits.
        """
        existing = {(row.kind, row.id): row for row in await self._rows(include_archived=True)}
        created: list[EntityRef] = []
        updated: list[EntityRef] = []
        archived: list[EntityRef] = []
        changes: dict[EntityRef, tuple[str, ...]] = {}
        unchanged = 0
        seen: set[EntityRef] = set()
        #: what each created, updated or archived entity is now: the new version's history
        written: list[ConfigEntity] = []
        opened: list[str] = []  # buyers whose configuration gains an account
        for entity in _flatten(doc):
            ref = (entity.kind, entity.id)
            seen.add(ref)
            row = existing.get(ref)
            if _opens_account(entity, row):
                opened.append(entity.id)
            if row is None:
                row = ConfigEntity(
                    kind=entity.kind,
                    id=entity.id,
                    parent_id=entity.parent_id,
                    spec=entity.spec,
                    archived=False,
                    updated_at=now,
                )
                self._session.add(row)
                written.append(row)
                created.append(ref)
                continue
            details = _entity_changes(row, entity)
            if not details:
                unchanged += 1
                continue
            row.spec = entity.spec
            row.parent_id = entity.parent_id
            row.archived = False
            row.updated_at = now
            written.append(row)
            updated.append(ref)
            changes[ref] = details
        if prune:
            for ref, row in existing.items():
                if ref not in seen and not row.archived:
                    row.archived = True
                    row.updated_at = now
                    written.append(row)
                    archived.append(ref)
        diff = ConfigDiff(
            created=tuple(created),
            updated=tuple(updated),
            archived=tuple(_by_kind(archived)),
            unchanged=unchanged,
            changes=changes,
        )
        if diff.changed:
            version = await self._bump_version(now)
            self._session.add_all(
                ConfigHistory(
                    kind=row.kind,
                    id=row.id,
                    version=version,
                    parent_id=row.parent_id,
                    spec=row.spec,
                    archived=row.archived,
                )
                for row in written
            )
        await self._session.flush()
        await open_accounts(self._session, opened)
        return diff

    async def _rows(self, include_archived: bool) -> Sequence[ConfigEntity]:
        query = select(ConfigEntity)
        if not include_archived:
            query = query.where(ConfigEntity.archived.is_(False))
        return (await self._session.scalars(query)).all()

    async def _bump_version(self, now: dt.datetime) -> int:
        # the row lock (PostgreSQL) serializes concurrent writers; SQLite has one writer
        state = await self._session.get(
            ConfigState, 1, with_for_update=True, populate_existing=True
        )
        if state is None:
            self._session.add(ConfigState(id=1, version=1, updated_at=now))
            return 1
        state.version += 1
        state.updated_at = now
        return state.version


def _document(rows: Sequence[ConfigEntity | ConfigHistory]) -> ConfigDocument:
    """Entity rows as one nested document, each list ordered by id."""
    by_kind: dict[str, list[ConfigEntity | ConfigHistory]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.id):
        by_kind[row.kind].append(row)
    children: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for kind, parent_kind in _PARENT_KIND.items():
        parents = {row.id for row in by_kind[parent_kind]}
        for row in by_kind[kind]:
            if row.parent_id not in parents:
                # only a write outside apply() can leave a child without its parent
                log.warning("config %s %s has no %s; skipped", kind, row.id, parent_kind)
                continue
            children[(parent_kind, row.parent_id)].append(row.spec)

    def entries(kind: str) -> list[dict[str, Any]]:
        out = []
        for row in by_kind[kind]:
            spec = dict(row.spec)
            kids = children.get((kind, row.id))
            if kids:
                spec[_CHILDREN[kind]] = kids
            out.append(spec)
        return out

    return parse_config(
        {
            "verticals": entries("vertical"),
            "suppliers": entries("supplier"),
            "buyers": entries("buyer"),
        }
    )


# --- entities and their differences -----------------------------------------------------------


def _flatten(doc: ConfigDocument) -> Iterator[_Entity]:
    """The document's entities, parents before children, each without its children."""
    for vertical in doc.verticals:
        yield _Entity("vertical", vertical.id, None, canonical(vertical))
    for supplier in doc.suppliers:
        yield _Entity("supplier", supplier.id, None, canonical(supplier, exclude={"campaigns"}))
    for supplier in doc.suppliers:
        for campaign in supplier.campaigns:
            yield _Entity("campaign", campaign.id, supplier.id, canonical(campaign))
    for buyer in doc.buyers:
        yield _Entity("buyer", buyer.id, None, canonical(buyer, exclude={"orders"}))
    for buyer in doc.buyers:
        for order in buyer.orders:
            yield _Entity("order", order.id, buyer.id, canonical(order))


def _opens_account(entity: _Entity, row: ConfigEntity | None) -> bool:
    """Whether ``entity`` is a buyer whose account starts now (new, or gained one)."""
    if entity.kind != "buyer" or "account" not in entity.spec:
        return False
    return row is None or row.archived or "account" not in row.spec


def _by_kind(refs: list[EntityRef]) -> list[EntityRef]:
    return sorted(refs, key=lambda ref: (KINDS.index(ref[0]), ref[1]))


def _entity_changes(row: ConfigEntity, entity: _Entity) -> tuple[str, ...]:
    """What differs between a stored row and the entity; empty when they mean the same.

    Specs are compared with their defaults filled in, so a spec stored before a default
    was written out (or left out) compares equal to the same meaning.
    """
    details: list[str] = []
    if row.archived:
        details.append("unarchived")
    if row.parent_id != entity.parent_id:
        parent_kind = _PARENT_KIND.get(entity.kind, "parent")
        details.append(f"{parent_kind} {row.parent_id} → {entity.parent_id}")
    details += _changes(_full(row.kind, row.spec), _full(entity.kind, entity.spec), "")
    return tuple(details)


def _full(kind: str, spec: dict[str, Any]) -> object:
    try:
        model = _MODELS[kind].model_validate(spec)
    except ValidationError:
        return spec  # a stored spec the schema no longer reads: compare as it is
    return model.model_dump(mode="json", exclude=({_CHILDREN[kind]} if kind in _CHILDREN else None))


_ABSENT = object()


def _changes(old: object, new: object, path: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            sub = f"{path}.{key}" if path else str(key)
            yield from _changes(old.get(key, _ABSENT), new.get(key, _ABSENT), sub)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
            yield from _changes(old_item, new_item, f"{path}[{i}]")
    elif not _same(old, new):
        yield f"{path} {_show(old)} → {_show(new)}"


def _same(old: object, new: object) -> bool:
    # by JSON text: 1 == True and 1 == 1.0 in Python, not in a configuration
    if old is _ABSENT or new is _ABSENT:
        return old is new
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _show(value: object) -> str:
    if value is _ABSENT:
        return "(none)"
    text = value if isinstance(value, str) and value else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
