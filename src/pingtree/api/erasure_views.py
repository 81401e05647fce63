"""Erasing a person and the erasures' audit trail, as plain dicts: the admin API's routes and
the UI's page both call these (``flows.erase`` does the work).

Only admins erase and read the trail (:func:`may_erase`); the caller checks it, as for a
PII reveal. ``principal`` names who asks in the trail: ``user:<id>`` or ``key:<id>``.
"""

from __future__ import annotations

from typing import Any

from pingtree.flows.erase import erase_consumer, erasure_json, ports_eraser
from pingtree.flows.ports import Ports
from pingtree.store.erasure import ErasureRepository

__all__ = ["erase", "erasure_list", "may_erase"]

#: the roles that may erase a person and read the erasures
_ERASERS = frozenset({"admin"})


def may_erase(role: str) -> bool:
    return role in _ERASERS


async def erase(
    ports: Ports,
    principal: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    lead_id: str | None = None,
) -> dict[str, Any]:
    """Erase a person (by email or phone) or a lead; the erasure's audit record."""
    return await erase_consumer(
        ports_eraser(ports), principal, email=email, phone=phone, lead_id=lead_id
    )


async def erasure_list(
    ports: Ports, limit: int, *, before: str | None = None
) -> list[dict[str, Any]]:
    """The erasures, newest first; ``before`` is the last id of the previous page."""
    async with ports.sessions() as session:
        rows = await ErasureRepository(session).recent(limit, before=before)
    return [erasure_json(row) for row in rows]
