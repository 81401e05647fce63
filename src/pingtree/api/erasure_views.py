"""Erasing a person and the erasures' audit trail, as plain dicts: the admin API's routes and
the UI's page both call these (``flows.erase`` does the work).

Only admins erase and read the trail (the ``erasures`` section of ``api.scoping``; else
:class:`~pingtree.principals.Forbidden`). The trail names the principal who asked by its
``audit_name``: ``user:<id>`` or ``key:<id>``.
"""

from __future__ import annotations

from typing import Any

from pingtree.api.scoping import may_open, open_section
from pingtree.flows.erase import erase_consumer, erasure_json, ports_eraser
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.store.erasure import ErasureRepository

__all__ = ["erase", "erasure_list", "may_erase"]


def may_erase(principal: Principal) -> bool:
    return may_open(principal, "erasures")


async def erase(
    ports: Ports,
    principal: Principal,
    *,
    email: str | None = None,
    phone: str | None = None,
    lead_id: str | None = None,
) -> dict[str, Any]:
    """Erase a person (by email or phone) or a lead; the erasure's audit record."""
    open_section(principal, "erasures")
    return await erase_consumer(
        ports_eraser(ports), principal.audit_name, email=email, phone=phone, lead_id=lead_id
    )


async def erasure_list(
    ports: Ports, principal: Principal, limit: int, *, before: str | None = None
) -> list[dict[str, Any]]:
    """The erasures, newest first; ``before`` is the last id of the previous page."""
    open_section(principal, "erasures")
    async with ports.sessions() as session:
        rows = await ErasureRepository(session).recent(limit, before=before)
    return [erasure_json(row) for row in rows]
