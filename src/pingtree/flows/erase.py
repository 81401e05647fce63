"""Erasing a consumer (DESIGN §8.5: "a purge command erases one consumer everywhere"), and
the retention that erases every lead's PII after N days.

Erasing by email or phone::

    canonicalize the value as intake does (``domain.fields``) → its HMAC index
    → the test leads whose phone or email decrypts to it (they have no dedup history)
    → in one transaction: the leads with that dedup key (every live lead is in the
      inbound history), erase their PII (``store.erasure``), abandon their queued posts
      and settle those leads, forget every dedup key of the person, record the erasure

By lead id, the same for one lead. Retention erases the leads created before ``now - N
days`` in batches, one transaction each, each recorded; it starts where the last run
stopped. What was asked is recorded as the HMAC index, never the clear value.

A post still queued for an erased lead is abandoned: its outbox row ``failed`` ("lead erased
before delivery"), its sale ``rejected`` (the buyer never got it, nothing is realized), and
the lead settled. Its cap room is not given back: a cap may be under-used by that sale,
never exceeded. A post already being sent is left to its worker.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.domain.fields import FieldError, FieldValueError, normalize_value
from pingtree.domain.verticals import FieldSpec, FieldType, Vertical
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ports import Ports
from pingtree.flows.settle import settle
from pingtree.store.erasure import ErasedLead, ErasureRepository, consumer_key
from pingtree.store.secrets import PiiError, PiiVault
from pingtree.store.tables import Erasure
from pingtree.store.transactions import Transactions

__all__ = ["Eraser", "erase_consumer", "erase_older_than", "erasure_json", "ports_eraser"]

#: leads erased in one transaction
_BATCH = 200
#: test leads decrypted at once while looking for a person
_SCAN = 1000
#: what a lead id looks like (a UUIDv7): anything else is refused before a query
_LEAD_ID = re.compile(r"[0-9a-fA-F-]{1,64}")


@dataclass(frozen=True)
class Eraser:
    """What erasing needs: the database, the PII key, the verticals (which fields are PII)
    and the time."""

    sessions: async_sessionmaker[AsyncSession]
    transactions: Transactions
    vault: PiiVault
    verticals: Callable[[], Mapping[str, Vertical]]
    now: Callable[[], dt.datetime]


async def erase_consumer(
    eraser: Eraser,
    principal: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    lead_id: str | None = None,
) -> dict[str, Any]:
    """Erase one person, found by ``email`` or ``phone``, or one lead by ``lead_id`` (exactly
    one of them), for ``principal``; the erasure's audit record.

    Raises :class:`InputError` for none or several of them, or an email or phone that is
    not one; :class:`NotFound` for an unknown lead id.
    """
    kind, value = _asked(email=email, phone=phone, lead_id=lead_id)
    if kind == "lead":
        key = None
        found = [value]
    else:
        key = consumer_key(FieldType(kind), value, eraser.vault)
        found = await _test_leads_of(eraser, key)

    async def work(session: AsyncSession) -> Erasure:
        erasures = ErasureRepository(session)
        if kind == "lead" and not await erasures.lead_exists(value):
            raise NotFound(f"no lead {value!r}")
        if key is not None:  # in the transaction: a lead of the person sold meanwhile too
            found.extend(await erasures.leads_by_keys([key]))
        erased = await _erase(session, eraser, sorted(set(found)))
        if key is not None:
            await erasures.forget_keys([key])
        return await erasures.record(principal, kind, key or value, len(erased), eraser.now())

    return erasure_json(await eraser.transactions.run(work))


async def erase_older_than(eraser: Eraser, days: int, principal: str = "retention") -> int:
    """Erase the PII of every lead created more than ``days`` days ago, in batches, each
    recorded (principal, count, how far it got); how many leads were erased. ``days`` must
    be at least 1."""
    if days < 1:
        raise ValueError("retention is at least one day")
    cutoff = eraser.now() - dt.timedelta(days=days)
    total = 0
    while True:

        async def batch(session: AsyncSession) -> int:
            erasures = ErasureRepository(session)
            mark = await erasures.retention_mark()
            if mark is not None and mark >= cutoff:
                return 0
            leads = await erasures.older_leads(mark, cutoff, _BATCH)
            if not leads:
                return 0
            erased = await _erase(session, eraser, [lead_id for lead_id, _ in leads])
            # done up to the cutoff, or up to the last lead erased (the next batch starts
            # there: a lead created at that very instant and not erased yet is found again)
            reached = cutoff if len(leads) < _BATCH else leads[-1][1]
            await erasures.record(principal, "retention", "", len(erased), eraser.now(), reached)
            return len(leads)

        done = await eraser.transactions.run(batch)
        total += done
        if done < _BATCH:
            return total


def ports_eraser(ports: Ports) -> Eraser:
    """What erasing needs, from a running server's ports."""
    return Eraser(
        sessions=ports.sessions,
        transactions=ports.transactions,
        vault=ports.vault,
        verticals=lambda: ports.snapshots.current().config.verticals,
        now=ports.clock.now,
    )


def erasure_json(row: Erasure) -> dict[str, Any]:
    return {
        "id": row.id,
        "principal": row.principal,
        "kind": row.kind,
        "subject": row.subject,
        "older_than": row.older_than,
        "leads": row.leads,
        "created_at": row.created_at,
    }


# --- helpers -------------------------------------------------------------------------------


async def _erase(session: AsyncSession, eraser: Eraser, lead_ids: Sequence[str]) -> list[str]:
    """Erase these leads in ``session``'s transaction; settle those whose queued posts were
    abandoned. The ids erased."""
    now = eraser.now()
    erased: list[ErasedLead] = await ErasureRepository(session).erase(
        lead_ids, eraser.vault, eraser.verticals(), now
    )
    for lead in erased:
        if lead.abandoned_sales:
            await settle(session, lead.id, now)
    return [lead.id for lead in erased]


def _asked(*, email: str | None, phone: str | None, lead_id: str | None) -> tuple[str, str]:
    """``(kind, canonical value)`` of what was asked."""
    given = [
        (name, value)
        for name, value in (("email", email), ("phone", phone), ("lead_id", lead_id))
        if value is not None
    ]
    if len(given) != 1:
        message = "give exactly one of email, phone or lead_id"
        raise InputError([FieldError(("body",), message, "value_error")])
    name, value = given[0]
    if name == "lead_id":
        if not _LEAD_ID.fullmatch(value.strip()):
            raise InputError([FieldError(("body", name), "must be a lead id", "value_error")])
        return "lead", value.strip()
    try:
        canonical = normalize_value(FieldSpec(name=name, type=FieldType(name), pii=True), value)
    except FieldValueError as error:
        # the value itself is PII: never echoed back
        raise InputError([FieldError(("body", name), error.msg, error.type)]) from None
    return name, str(canonical)


async def _test_leads_of(eraser: Eraser, key: str) -> list[str]:
    """The person's test leads, whose phone or email has dedup key ``key``: they never
    enter the dedup history, so their values are decrypted and compared."""
    async with eraser.sessions() as session:
        erasures = ErasureRepository(session)
        verticals = eraser.verticals()
        found: list[str] = []
        after: str | None = None
        while True:
            rows = await erasures.test_leads(after, _SCAN)
            found.extend(
                i for i, v, f in rows if _holds_key(eraser.vault, verticals.get(v), f, key)
            )
            if len(rows) < _SCAN:
                return found
            after = rows[-1][0]


def _holds_key(
    vault: PiiVault, vertical: Vertical | None, fields: Mapping[str, Any], key: str
) -> bool:
    if vertical is None:
        return False
    for spec in vertical.fields:
        value = fields.get(spec.name)
        if spec.type not in (FieldType.EMAIL, FieldType.PHONE) or not isinstance(value, str):
            continue
        try:
            plain = vault.decrypt(value) if vault.is_encrypted(value) else value
        except PiiError:
            continue
        if consumer_key(spec.type, plain, vault) == key:
            return True
    return False
