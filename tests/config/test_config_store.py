"""The configuration in a real SQLite database: apply, export, prune, dry run."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from pingtree.config.apply import apply_config, export_config
from pingtree.config.errors import ConfigError
from pingtree.config.packaged import example_text
from pingtree.config.parse import load_yaml
from pingtree.store.config_repo import ConfigDiff, ConfigRepository
from pingtree.store.snapshot import SnapshotHolder
from pingtree.store.tables import Base, ConfigEntity, ConfigState

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'config.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


MARKETPLACE = example_text("marketplace")

SMALL = """
verticals:
  - id: pets
    name: Pet insurance
    fields:
      - {name: zip, type: zip, ping: required}
      - {name: state, type: state}
      - {name: species, type: enum, values: [dog, cat]}
suppliers:
  - id: acme
    campaigns:
      - {id: acme_pets, vertical: pets, payout: {model: revenue_share, percent: 70}}
buyers:
  - id: fido
    timezone: America/New_York
    orders:
      - id: fido_dogs
        vertical: pets
        pricing: {type: fixed, exclusive: 20}
        filters: {all: [{field: species, op: eq, value: dog}]}
        caps: [{kind: count, window: day, limit: 10}]
  - id: old_one
    orders:
      - {id: old_order, vertical: pets, pricing: {type: fixed, shared: "3.5"}}
"""


async def stored_rows(sessions: Sessions) -> list[ConfigEntity]:
    async with sessions() as session:
        rows = await session.scalars(select(ConfigEntity).order_by(ConfigEntity.id))
        return list(rows)


async def version(sessions: Sessions) -> int:
    async with sessions() as session:
        return await ConfigRepository(session).version()


async def apply(sessions: Sessions, text: str, **kwargs: bool) -> ConfigDiff:
    return await apply_config(sessions, text, T0, **kwargs)


# --- apply ---------------------------------------------------------------------------------------


async def test_empty_database_has_version_0_and_an_empty_document(sessions: Sessions) -> None:
    assert await version(sessions) == 0
    async with sessions() as session:
        doc = await ConfigRepository(session).load_document()
    assert (doc.verticals, doc.suppliers, doc.buyers) == ([], [], [])
    assert await export_config(sessions) == "{}\n"


async def test_apply_creates_every_entity(sessions: Sessions) -> None:
    diff = await apply(sessions, SMALL)
    assert diff.created == (
        ("vertical", "pets"),
        ("supplier", "acme"),
        ("campaign", "acme_pets"),
        ("buyer", "fido"),
        ("buyer", "old_one"),
        ("order", "fido_dogs"),
        ("order", "old_order"),
    )
    assert (diff.updated, diff.archived, diff.unchanged) == ((), (), 0)
    assert diff.render().splitlines()[0] == "+ vertical pets"
    assert diff.render().splitlines()[-1] == "7 created, 0 updated, 0 archived, 0 unchanged"
    assert await version(sessions) == 1

    rows = {(row.kind, row.id): row for row in await stored_rows(sessions)}
    assert rows[("supplier", "acme")].spec == {"id": "acme"}  # no campaigns inside
    assert rows[("campaign", "acme_pets")].parent_id == "acme"
    assert rows[("buyer", "fido")].spec == {"id": "fido", "timezone": "America/New_York"}
    assert rows[("order", "fido_dogs")].parent_id == "fido"
    assert rows[("order", "fido_dogs")].spec["pricing"] == {"type": "fixed", "exclusive": "20.00"}
    assert rows[("order", "old_order")].spec["pricing"] == {"type": "fixed", "shared": "3.50"}
    assert all(row.updated_at == T0 and not row.archived for row in rows.values())


async def test_second_apply_of_the_same_file_changes_nothing(sessions: Sessions) -> None:
    await apply(sessions, MARKETPLACE)
    before = [(row.kind, row.id, row.updated_at) for row in await stored_rows(sessions)]
    diff = await apply_config(sessions, MARKETPLACE, T1)
    assert not diff.changed
    assert diff.unchanged == len(before) == 2 + 2 + 3 + 4 + 7
    assert diff.render() == "no changes (18 unchanged)"
    assert await version(sessions) == 1
    after = [(row.kind, row.id, row.updated_at) for row in await stored_rows(sessions)]
    assert after == before


async def test_load_document_reassembles_the_nested_document_by_id(sessions: Sessions) -> None:
    await apply(sessions, MARKETPLACE)
    async with sessions() as session:
        doc = await ConfigRepository(session).load_document()
    assert [b.id for b in doc.buyers] == [
        "harbor_health",
        "pinnacle_health",
        "shield_insurance",
        "summit_auto",
    ]
    shield = next(b for b in doc.buyers if b.id == "shield_insurance")
    assert [o.id for o in shield.orders] == ["shield_auto_miami", "shield_auto_southeast"]
    acme = next(s for s in doc.suppliers if s.id == "acme_media")
    assert [c.id for c in acme.campaigns] == ["acme_auto", "acme_health"]
    # the same entities as the file
    original = load_yaml(MARKETPLACE)
    assert sorted(o.id for b in doc.buyers for o in b.orders) == sorted(
        o.id for b in original.buyers for o in b.orders
    )


async def test_an_update_is_rendered_with_what_changed(sessions: Sessions) -> None:
    await apply(sessions, MARKETPLACE)
    changed = MARKETPLACE.replace("percent: 70}", "percent: 75}").replace(
        'exclusive: "32.50"', 'exclusive: "35"'
    )
    diff = await apply_config(sessions, changed, T1)
    assert diff.updated == (("campaign", "acme_auto"), ("order", "summit_auto_tx"))
    assert diff.created == diff.archived == ()
    lines = diff.render().splitlines()
    assert "~ campaign acme_auto: payout.percent 70 → 75" in lines
    assert "~ order summit_auto_tx: pricing.exclusive 32.50 → 35.00" in lines
    assert await version(sessions) == 2
    rows = {(row.kind, row.id): row for row in await stored_rows(sessions)}
    assert rows[("campaign", "acme_auto")].spec["payout"]["percent"] == 75
    assert rows[("campaign", "acme_auto")].updated_at == T1
    assert rows[("campaign", "acme_health")].updated_at == T0


async def test_a_change_of_parent_is_an_update(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    doc = load_yaml(SMALL)
    fido, old_one = doc.buyers
    moved = doc.model_copy(
        update={
            "buyers": [
                fido.model_copy(update={"orders": [*fido.orders, *old_one.orders]}),
                old_one.model_copy(update={"orders": []}),
            ]
        }
    )
    diff = await apply_config(sessions, moved, T1)
    assert diff.updated == (("order", "old_order"),)
    assert diff.render().splitlines()[0] == "~ order old_order: buyer old_one → fido"
    async with sessions() as session:
        stored = await ConfigRepository(session).load_document()
    assert [[o.id for o in b.orders] for b in stored.buyers] == [["fido_dogs", "old_order"], []]


async def test_values_that_python_thinks_equal_are_still_changes(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    text = SMALL.replace(
        "      - {name: species, type: enum, values: [dog, cat]}\n",
        "      - {name: species, type: enum, values: [dog, cat]}\n"
        "      - {name: vaccinated, type: boolean}\n",
    )
    condition = "op: eq, value: dog}, {field: vaccinated, op: eq, value: "
    await apply(sessions, text.replace("op: eq, value: dog", condition + "1"))
    diff = await apply(sessions, text.replace("op: eq, value: dog", condition + "true"))
    assert diff.updated == (("order", "fido_dogs"),)
    assert "filters.all[1].value 1 → true" in diff.render()


# --- export --------------------------------------------------------------------------------------


async def test_export_then_apply_is_a_no_op(sessions: Sessions) -> None:
    await apply(sessions, MARKETPLACE)
    exported = await export_config(sessions)
    diff = await apply_config(sessions, exported, T1)
    assert not diff.changed
    assert diff.unchanged == 18
    assert await version(sessions) == 1
    # and with prune: the export is the whole configuration
    diff = await apply_config(sessions, exported, T1, prune=True)
    assert not diff.changed
    assert await export_config(sessions) == exported


async def test_export_is_canonical_yaml(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    exported = await export_config(sessions)
    assert exported == (
        "verticals:\n"
        "- id: pets\n"
        "  name: Pet insurance\n"
        "  fields:\n"
        "  - name: zip\n"
        "    type: zip\n"
        "    ping: required\n"
        "  - name: state\n"
        "    type: state\n"
        "  - name: species\n"
        "    type: enum\n"
        "    values: [dog, cat]\n"
        "suppliers:\n"
        "- id: acme\n"
        "  campaigns:\n"
        "  - id: acme_pets\n"
        "    vertical: pets\n"
        "    payout:\n"
        "      model: revenue_share\n"
        "      percent: 70\n"
        "buyers:\n"
        "- id: fido\n"
        "  timezone: America/New_York\n"
        "  orders:\n"
        "  - id: fido_dogs\n"
        "    vertical: pets\n"
        "    pricing:\n"
        "      type: fixed\n"
        "      exclusive: '20.00'\n"
        "    filters:\n"
        "      all:\n"
        "      - field: species\n"
        "        op: eq\n"
        "        value: dog\n"
        "    caps:\n"
        "    - kind: count\n"
        "      window: day\n"
        "      limit: 10\n"
        "- id: old_one\n"
        "  orders:\n"
        "  - id: old_order\n"
        "    vertical: pets\n"
        "    pricing:\n"
        "      type: fixed\n"
        "      shared: '3.50'\n"
    )


async def test_export_leaves_archived_entities_out(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    await apply(sessions, SMALL.split("  - id: old_one")[0], prune=True)
    exported = await export_config(sessions)
    assert "old_one" not in exported
    assert "old_order" not in exported
    assert "fido_dogs" in exported


# --- keeping, pruning, unarchiving ---------------------------------------------------------------

ONLY_NEW_BUYER = """
buyers:
  - id: rex
    orders:
      - {id: rex_cats, vertical: pets, pricing: {type: fixed, exclusive: 4}}
"""


async def test_entities_missing_from_the_file_are_kept(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    # the file refers to the stored vertical: valid because what is kept is compiled too
    diff = await apply(sessions, ONLY_NEW_BUYER)
    assert diff.created == (("buyer", "rex"), ("order", "rex_cats"))
    assert (diff.updated, diff.archived, diff.unchanged) == ((), (), 0)
    assert await version(sessions) == 2
    async with sessions() as session:
        doc = await ConfigRepository(session).load_document()
    assert [b.id for b in doc.buyers] == ["fido", "old_one", "rex"]
    assert [v.id for v in doc.verticals] == ["pets"]


async def test_a_parent_in_the_file_keeps_its_stored_children(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    diff = await apply(sessions, "buyers: [{id: fido, name: Fido Mutual}]\n")
    assert diff.updated == (("buyer", "fido"),)
    assert diff.changes[("buyer", "fido")] == (
        'name "" → Fido Mutual',
        "timezone America/New_York → UTC",
    )
    async with sessions() as session:
        doc = await ConfigRepository(session).load_document()
    fido = next(b for b in doc.buyers if b.id == "fido")
    assert [o.id for o in fido.orders] == ["fido_dogs"]
    assert fido.timezone == "UTC"  # the file's buyer replaced the stored one


async def test_prune_archives_what_the_file_leaves_out(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    pruned = SMALL.split("  - id: old_one")[0]
    diff = await apply_config(sessions, pruned, T1, prune=True)
    assert diff.archived == (("buyer", "old_one"), ("order", "old_order"))
    assert diff.unchanged == 5
    assert "- buyer old_one (archived)" in diff.render().splitlines()
    assert await version(sessions) == 2

    rows = {(row.kind, row.id): row for row in await stored_rows(sessions)}
    assert rows[("buyer", "old_one")].archived
    assert rows[("buyer", "old_one")].updated_at == T1
    assert not rows[("buyer", "fido")].archived
    async with sessions() as session:
        repo = ConfigRepository(session)
        live = await repo.load_document()
        everything = await repo.load_document(include_archived=True)
    assert [b.id for b in live.buyers] == ["fido"]
    assert [b.id for b in everything.buyers] == ["fido", "old_one"]
    assert [o.id for o in everything.buyers[1].orders] == ["old_order"]

    # pruning again archives nothing more and changes nothing
    again = await apply_config(sessions, pruned, T1, prune=True)
    assert not again.changed
    assert await version(sessions) == 2

    # the archived entities come back when the file has them again
    restored = await apply(sessions, SMALL)
    assert restored.updated == (("buyer", "old_one"), ("order", "old_order"))
    assert "~ buyer old_one: unarchived" in restored.render().splitlines()
    assert await version(sessions) == 3
    assert not any(row.archived for row in await stored_rows(sessions))


async def test_prune_compiles_the_file_alone(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    # without prune the stored vertical makes this valid; with prune it would be archived
    with pytest.raises(ConfigError) as caught:
        await apply(sessions, ONLY_NEW_BUYER, prune=True)
    assert [issue.path for issue in caught.value.issues] == ["buyers[0].orders[0].vertical"]
    assert await version(sessions) == 1


# --- nothing written -----------------------------------------------------------------------------


async def test_dry_run_writes_nothing(sessions: Sessions) -> None:
    diff = await apply(sessions, SMALL, dry_run=True)
    assert len(diff.created) == 7
    assert await version(sessions) == 0
    assert await stored_rows(sessions) == []

    await apply(sessions, SMALL)
    diff = await apply(sessions, SMALL.split("  - id: old_one")[0], prune=True, dry_run=True)
    assert diff.archived == (("buyer", "old_one"), ("order", "old_order"))
    assert await version(sessions) == 1
    assert not any(row.archived for row in await stored_rows(sessions))


async def test_an_invalid_file_writes_nothing(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    broken = SMALL.replace("limit: 10", "limit: 0") + (
        "      - {id: new_order, vertical: cars, pricing: {type: fixed, exclusive: 1}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        await apply(sessions, broken)
    assert [issue.path for issue in caught.value.issues] == [
        "buyers[0].orders[0].caps[0].limit",
        "buyers[1].orders[1].vertical",
    ]
    with pytest.raises(ConfigError):
        await apply(sessions, "buyers: [{id: x, orders: [{id: y}]}]\n")
    with pytest.raises(ConfigError):
        await apply(sessions, "buyers: [\n")
    assert await version(sessions) == 1
    rows = await stored_rows(sessions)
    assert len(rows) == 7
    assert all(row.updated_at == T0 for row in rows)


async def test_version_row_is_bumped_in_place(sessions: Sessions) -> None:
    await apply(sessions, SMALL)
    await apply(sessions, SMALL.replace("limit: 10", "limit: 11"))
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ConfigState))
        state = await session.get(ConfigState, 1)
    assert count == 1
    assert state is not None
    assert state.version == 2


async def test_snapshot_loads_what_was_applied(sessions: Sessions) -> None:
    holder = SnapshotHolder(sessions)
    await apply(sessions, MARKETPLACE)
    snapshot = await holder.refresh()
    assert snapshot.version == 1
    assert len(snapshot.config.orders) == 7
    assert {o.id for o in snapshot.candidate_orders("health_insurance", False)} == {
        "harbor_health_family",
        "harbor_medicare_socal",
        "pinnacle_short_term",
    }
