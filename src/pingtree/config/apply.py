"""Applying a YAML configuration to the database, and exporting it back (DESIGN §8.4).

``apply_config``: parse → merge with what is stored (entities missing from the file are
kept unless pruning) → compile the merged whole → write in one transaction (rolled back
on a dry run). ``export_config`` writes what is stored as YAML that applies as a no-op.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.compile import compile_config
from pingtree.config.parse import dump_yaml, load_yaml
from pingtree.config.schema import BuyerSpec, ConfigDocument, SupplierSpec
from pingtree.store.config_repo import ConfigDiff, ConfigRepository

__all__ = ["apply_config", "export_config", "merge_documents"]


async def apply_config(
    session_factory: async_sessionmaker[AsyncSession],
    text_or_doc: str | ConfigDocument,
    now: dt.datetime,
    *,
    prune: bool = False,
    dry_run: bool = False,
) -> ConfigDiff:
    """Apply a configuration (YAML text or a parsed document) and return what changed.

    Without ``prune`` the stored entities missing from the file stay, so the file may
    refer to them; with ``prune`` they are archived and the file must stand alone. With
    ``dry_run`` nothing is written: the diff says what would change.

    Raises :class:`pingtree.config.errors.ConfigError` (nothing written) when the text or
    the resulting configuration is invalid.
    """
    doc = load_yaml(text_or_doc) if isinstance(text_or_doc, str) else text_or_doc
    async with session_factory() as session:
        repo = ConfigRepository(session)
        stored = await repo.load_document()
        compile_config(doc if prune else merge_documents(stored, doc))
        diff = await repo.apply(doc, now, prune=prune)
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
        return diff


async def export_config(session_factory: async_sessionmaker[AsyncSession]) -> str:
    """The stored configuration (archived entities left out) as canonical YAML text.

    Applying the text to the same database changes nothing. The configuration holds no
    secrets: API keys live elsewhere, and buyer credentials are ``{secret: NAME}`` references.
    """
    async with session_factory() as session:
        doc = await ConfigRepository(session).load_document()
    return dump_yaml(doc)


def merge_documents(base: ConfigDocument, overlay: ConfigDocument) -> ConfigDocument:
    """``base`` with the entities of ``overlay`` put in, as an apply without prune leaves it.

    An entity of ``overlay`` replaces the one of ``base`` with the same kind and id; the
    others of ``base`` stay, children under their stored parent (unless ``overlay`` moved
    them to another parent).
    """
    vertical_ids = {vertical.id for vertical in overlay.verticals}
    campaign_ids = {c.id for supplier in overlay.suppliers for c in supplier.campaigns}
    order_ids = {o.id for buyer in overlay.buyers for o in buyer.orders}

    base_suppliers = {supplier.id: supplier for supplier in base.suppliers}
    suppliers: list[SupplierSpec] = []
    for supplier in overlay.suppliers:
        kept = base_suppliers.pop(supplier.id, None)
        extra = [c for c in kept.campaigns if c.id not in campaign_ids] if kept else []
        suppliers.append(supplier.model_copy(update={"campaigns": [*supplier.campaigns, *extra]}))
    for supplier in base_suppliers.values():
        campaigns = [c for c in supplier.campaigns if c.id not in campaign_ids]
        suppliers.append(supplier.model_copy(update={"campaigns": campaigns}))

    base_buyers = {buyer.id: buyer for buyer in base.buyers}
    buyers: list[BuyerSpec] = []
    for buyer in overlay.buyers:
        kept_buyer = base_buyers.pop(buyer.id, None)
        more = [o for o in kept_buyer.orders if o.id not in order_ids] if kept_buyer else []
        buyers.append(buyer.model_copy(update={"orders": [*buyer.orders, *more]}))
    for buyer in base_buyers.values():
        orders = [o for o in buyer.orders if o.id not in order_ids]
        buyers.append(buyer.model_copy(update={"orders": orders}))

    return ConfigDocument(
        verticals=[
            *overlay.verticals,
            *(vertical for vertical in base.verticals if vertical.id not in vertical_ids),
        ],
        suppliers=suppliers,
        buyers=buyers,
    )
