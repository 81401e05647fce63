"""A buyer's or a supplier's own API key, as the principal its view functions scope by.

The party APIs (``/api/v1/buyer/...``, ``/api/v1/supplier/...``) take their caller from
:func:`party_principal`: a dependency that reads the key (``Authorization: Bearer`` or
``X-Api-Key``), checks it with the one :class:`~pingtree.api.auth.KeyChecker`, and answers
a :class:`~pingtree.principals.Principal` of ``kind="token"``:

- a ``buyer`` key: ``role="buyer"`` with its ``buyer_id`` (the views show its own orders,
  leads and money only, as to a buyer's user in the portal);
- a ``supplier`` key: ``role="supplier"`` with its ``supplier_id``;
- a staff admin token: an ``admin`` principal (the views decide what an admin may do there).

401 without a valid key (missing, malformed, unknown, revoked, expired); 403 for a key of
another kind (a campaign key, or a supplier key on a buyer route). Usage::

    buyer = Depends(party_principal(keys, "buyer"))

    @router.get("/api/v1/buyer/leads")
    async def leads(principal: Principal = buyer) -> ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from starlette.requests import Request

from pingtree.api.auth import KeyChecker, bearer_or_header
from pingtree.api.problems import Problem
from pingtree.api.scoping import token_principal
from pingtree.principals import Principal

__all__ = ["PARTY_RESPONSES", "PartyRole", "party_principal"]

PartyRole = Literal["buyer", "supplier"]

#: what any party route may answer besides its own outcome, for its OpenAPI document
PARTY_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "missing or invalid API key"},
    403: {"description": "not a key of this party's kind (a campaign key, another party's)"},
    404: {"description": "no such entity of this party's (another party's is not found)"},
}


def party_principal(keys: KeyChecker, role: PartyRole) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting ``role``'s keys (bound to their party) and admin tokens: the
    caller as a :class:`Principal`. 401 without a valid key, 403 for another kind."""

    async def party(request: Request) -> Principal:
        caller = await keys.caller(bearer_or_header(request))
        bound = caller.buyer_id if role == "buyer" else caller.supplier_id
        if caller.role == "admin" or (caller.role == role and bound):
            return token_principal(caller)
        raise Problem(403, f"a {role} key is required", "forbidden")

    return party
