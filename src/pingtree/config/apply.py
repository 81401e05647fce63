"""Applying a YAML configuration to the database, and exporting it back (DESIGN §8.4).

``apply_config``: parse → merge with what is stored (entities missing from the file are
kept unless pruning) → compile the merged whole → write in one transaction (rolled back
on a dry run). ``export_config`` writes what is stored as YAML that applies as a no-op.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.buyer_spec import BuyerSpec
from pingtree.config.compile import compile_config
from pingtree.config.errors import ConfigError, ConfigIssue, join_path
from pingtree.config.parse import dump_yaml, load_yaml
from pingtree.config.schema import ConfigDocument
from pingtree.config.supplier_spec import SupplierSpec
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
    the resulting configuration is invalid. Each issue's path is the file's own
    (``buyers[0].orders[1].floor``); an issue of a stored entity the file does not hold
    (an order broken by a vertical the file changes) names it by kind and id, and says
    what the file holds.
    """
    doc = load_yaml(text_or_doc) if isinstance(text_or_doc, str) else text_or_doc
    async with session_factory() as session:
        repo = ConfigRepository(session)
        stored = await repo.load_document()
        if prune:
            compile_config(doc)
        else:
            merged = merge_documents(stored, doc)
            try:
                compile_config(merged)
            except ConfigError as exc:
                # the merged whole's paths are not the file's: say where each issue is
                raise ConfigError(_in_the_file(exc.issues, merged, doc)) from None
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


# --- where an issue of the merged configuration is ------------------------------------------


def _in_the_file(
    issues: Iterable[ConfigIssue], merged: ConfigDocument, applied: ConfigDocument
) -> list[ConfigIssue]:
    """``issues`` found in ``merged`` with the paths of ``applied`` (the file), or, for an
    entity the file does not hold, its kind and id (``stored order o1 of buyer b2``)."""
    places = dict(_places(merged, applied))
    holds = _summary(applied)
    out: list[ConfigIssue] = []
    for issue in issues:
        found = _longest_entity(issue.path, places)
        if found is None:
            out.append(issue)
            continue
        prefix, place = found
        rest = issue.path[len(prefix) :].lstrip(".")
        if place.startswith("stored "):
            msg = f"{issue.msg} (in the {place}, not in the applied file, which holds {holds})"
            out.append(ConfigIssue(f"{place.removeprefix('stored ')}: {rest}", msg, issue.value))
        else:
            out.append(ConfigIssue(f"{place}.{rest}" if rest else place, issue.msg, issue.value))
    return out


def _longest_entity(path: str, places: dict[str, str]) -> tuple[str, str] | None:
    """The innermost entity ``path`` is in (an order before its buyer), and its place."""
    for prefix in sorted(places, key=len, reverse=True):
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return prefix, places[prefix]
    return None


def _places(merged: ConfigDocument, applied: ConfigDocument) -> Iterator[tuple[str, str]]:
    """Each entity path of ``merged`` → its path in ``applied``, or ``stored <kind> <id>``."""
    verticals = {v.id: i for i, v in enumerate(applied.verticals)}
    for i, vertical in enumerate(merged.verticals):
        k = verticals.get(vertical.id)
        yield (
            join_path("verticals", i),
            (join_path("verticals", k) if k is not None else f"stored vertical {vertical.id}"),
        )
    suppliers = {s.id: (i, s) for i, s in enumerate(applied.suppliers)}
    for i, supplier in enumerate(merged.suppliers):
        found = suppliers.get(supplier.id)
        here = join_path("suppliers", i)
        yield (
            here,
            (join_path("suppliers", found[0]) if found else f"stored supplier {supplier.id}"),
        )
        own = {c.id: j for j, c in enumerate(found[1].campaigns)} if found else {}
        for j, campaign in enumerate(supplier.campaigns):
            m = own.get(campaign.id)
            yield (
                join_path(here, "campaigns", j),
                (
                    join_path("suppliers", found[0], "campaigns", m)
                    if found and m is not None
                    else f"stored campaign {campaign.id} of supplier {supplier.id}"
                ),
            )
    buyers = {b.id: (i, b) for i, b in enumerate(applied.buyers)}
    for i, buyer in enumerate(merged.buyers):
        got = buyers.get(buyer.id)
        here = join_path("buyers", i)
        yield here, (join_path("buyers", got[0]) if got else f"stored buyer {buyer.id}")
        orders = {o.id: j for j, o in enumerate(got[1].orders)} if got else {}
        for j, order in enumerate(buyer.orders):
            m = orders.get(order.id)
            yield (
                join_path(here, "orders", j),
                (
                    join_path("buyers", got[0], "orders", m)
                    if got and m is not None
                    else f"stored order {order.id} of buyer {buyer.id}"
                ),
            )


def _summary(doc: ConfigDocument) -> str:
    """What a file holds, by kind and id: ``verticals auto, pets; buyers b1``."""
    parts = []
    for kind, ids in (
        ("verticals", [v.id for v in doc.verticals]),
        ("suppliers", [s.id for s in doc.suppliers]),
        ("campaigns", [c.id for s in doc.suppliers for c in s.campaigns]),
        ("buyers", [b.id for b in doc.buyers]),
        ("orders", [o.id for b in doc.buyers for o in b.orders]),
    ):
        if ids:
            parts.append(f"{kind} {', '.join(ids)}")
    return "; ".join(parts) or "nothing"
