"""Suppression lists, as plain dicts: the admin API's routes and the UI's page both call
these. Admins and operators only (those who run the marketplace: ``may_operate``); an
analyst, a party's user or a campaign key is answered 403.

An upload is hashed at once (``store.suppression.suppression_keys``): no phone or email of
a list is ever stored, logged or shown back in clear, only how many there were.
"""

from __future__ import annotations

import re
from typing import Any

from pingtree.domain.fields import FieldError
from pingtree.flows.errors import InputError
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store.suppression import SuppressionRepository, suppression_keys

__all__ = ["may_suppress", "remove_list", "suppression_lists", "upload_list"]

LIST_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_LIST_ID_RE = re.compile(LIST_ID)
#: line numbers of unreadable lines named in an answer, at most
_BAD_LINES_SHOWN = 20


def may_suppress(principal: Principal) -> bool:
    return principal.may_operate


def _open(principal: Principal) -> None:
    if not may_suppress(principal):
        raise Forbidden(f"The {principal.role} role may not see suppression lists.")


async def upload_list(
    ports: Ports, principal: Principal, list_id: str, csv_text: str
) -> dict[str, Any]:
    """Add a CSV's phones and emails to ``list_id`` (created by its first upload): how many
    were read, how many were new, and the lines that held neither."""
    _open(principal)
    _check_list_id(list_id)
    try:
        upload = suppression_keys(csv_text, ports.vault)
    except ValueError as exc:
        raise InputError([FieldError(("body",), str(exc), "invalid_csv")]) from None
    if not upload.keys:
        raise InputError(
            [FieldError(("body",), "no phone number or email address in the CSV", "empty_list")]
        )
    now = ports.clock.now()
    added = await ports.transactions.run(
        lambda session: SuppressionRepository(session).add(list_id, upload.keys, now)
    )
    return {
        "list_id": list_id,
        "read": len(upload.keys),
        "added": added,
        "bad_lines": list(upload.bad_lines[:_BAD_LINES_SHOWN]),
        "bad_line_count": len(upload.bad_lines),
    }


async def suppression_lists(ports: Ports, principal: Principal) -> list[dict[str, Any]]:
    """Every list: its id, how many entries, when it last grew."""
    _open(principal)
    async with ports.sessions() as session:
        lists = await SuppressionRepository(session).lists()
    return [
        {"list_id": s.id, "entries": s.entries, "updated_at": s.updated_at.isoformat()}
        for s in lists
    ]


async def remove_list(ports: Ports, principal: Principal, list_id: str) -> dict[str, Any]:
    """Drop a whole list; how many entries went."""
    _open(principal)
    _check_list_id(list_id)
    removed = await ports.transactions.run(
        lambda session: SuppressionRepository(session).remove_list(list_id)
    )
    return {"list_id": list_id, "removed": removed}


def _check_list_id(list_id: str) -> None:
    if not _LIST_ID_RE.fullmatch(list_id):
        raise InputError(
            [
                FieldError(
                    ("path", "list_id"),
                    "lower-case letters, digits, _ and -, at most 64",
                    "invalid_list_id",
                    list_id,
                )
            ]
        )
