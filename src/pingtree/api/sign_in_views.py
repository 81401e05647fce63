"""What admins see of the sign-ins to the UI, as plain dicts: ``GET /api/v1/admin/sign-ins``
and the ``/ui/sign-ins`` page both call these. Only admins may: the record names who tried
which account from where (the ``sign-ins`` section of ``api.scoping``)."""

from __future__ import annotations

from typing import Any

from pingtree.api.scoping import may_open, open_section
from pingtree.domain.throttle import SignInOutcome
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.store.sign_ins import SignInRepository

__all__ = ["OUTCOMES", "may_see_sign_ins", "sign_in_list"]

#: every outcome a sign-in is recorded with
OUTCOMES = tuple(outcome.value for outcome in SignInOutcome)

_COLUMNS = ("id", "username", "user_id", "address", "outcome", "at")


def may_see_sign_ins(principal: Principal) -> bool:
    return may_open(principal, "sign-ins")


async def sign_in_list(
    ports: Ports,
    principal: Principal,
    limit: int,
    *,
    username: str | None = None,
    address: str | None = None,
    outcome: SignInOutcome | None = None,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """Sign-ins, newest first, each with the username as typed, the user it named (if
    any), the client's address and the outcome; ``before`` is the last id of the previous
    page."""
    open_section(principal, "sign-ins")
    async with ports.sessions() as session:
        rows = await SignInRepository(session).recent(
            limit,
            username=username,
            address=address,
            outcome=outcome.value if outcome is not None else None,
            before=before,
        )
    return [{column: getattr(row, column) for column in _COLUMNS} for row in rows]
