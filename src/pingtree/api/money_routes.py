"""The API of returns and accounts (``api.return_views`` and ``api.account_views`` do the work):

- ``/api/v1/admin/returns`` and ``/api/v1/admin/accounts``: an admin token;
- ``/api/v1/buyer/returns``, ``/api/v1/buyer/account``: a buyer's own key;
- ``/api/v1/supplier/returns``, ``/api/v1/supplier/account``: a supplier's own key.

Amounts are JSON strings of whole cents (``"250.00"``, ``"-12.5"``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from pingtree.api import account_views, return_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.party_auth import PARTY_RESPONSES, party_principal
from pingtree.api.scoping import token_principal
from pingtree.flows.money import MAX_NOTE
from pingtree.flows.ports import Ports
from pingtree.flows.returns import MAX_COMMENT
from pingtree.principals import Principal

__all__ = ["money_router"]

_ID = r"^[A-Za-z0-9_-]{1,64}$"
Id = Annotated[str, Path(pattern=_ID)]
Limit = Annotated[int, Query(ge=1, le=500)]
Before = Annotated[str | None, Query(pattern=_ID)]
Status = Annotated[Literal["requested", "approved", "denied"] | None, Query()]
Party = Annotated[Literal["buyer", "supplier"], Path()]


class ReturnAsked(BaseModel):
    """A return: staff name the ``sale_id`` (or a ``lead_id`` sold once); a buyer names the
    ``lead_id`` it bought."""

    reason: str = Field(min_length=1, max_length=64)
    comment: str = Field(default="", max_length=MAX_COMMENT)
    sale_id: str | None = Field(default=None, pattern=_ID)
    lead_id: str | None = Field(default=None, pattern=_ID)


class BuyerReturnAsked(BaseModel):
    lead_id: str = Field(pattern=_ID)
    reason: str = Field(min_length=1, max_length=64)
    comment: str = Field(default="", max_length=MAX_COMMENT)


class Decision(BaseModel):
    #: why (the buyer is shown it)
    note: str = Field(default="", max_length=MAX_COMMENT)


class Denial(BaseModel):
    #: why, required: the buyer is shown it
    note: str = Field(min_length=1, max_length=MAX_COMMENT, pattern=r"\S")


class Movement(BaseModel):
    #: money as text: ``"250.00"``, ``"-12.5"``; whole cents
    amount: str = Field(pattern=r"^-?[0-9]{1,8}(\.[0-9]{1,2})?$")
    note: str = Field(default="", max_length=MAX_NOTE)

    @property
    def value(self) -> Decimal:
        return Decimal(self.amount)


def money_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    router.include_router(_admin_routes(ports, keys))
    router.include_router(_buyer_routes(ports, keys))
    router.include_router(_supplier_routes(ports, keys))
    return router


def _admin_routes(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin", tags=["money"], dependencies=[admin], responses=ADMIN_RESPONSES
    )

    @router.get("/returns")
    async def returns(
        status: Status = None, limit: Limit = 100, before: Before = None, caller: Caller = admin
    ) -> list[dict[str, Any]]:
        """Returns, newest first; ``before`` is the last id of the previous page."""
        principal = token_principal(caller)
        return await return_views.return_list(
            ports, principal, status=status, limit=limit, before=before
        )

    @router.post("/returns", status_code=201, responses={409: {"description": "not returnable"}})
    async def ask(body: ReturnAsked, caller: Caller = admin) -> dict[str, Any]:
        """Request a return of a sold sale (at any time: the order's window binds buyers);
        approved at once when its reason is set to."""
        return await return_views.ask_return(
            ports,
            token_principal(caller),
            reason=body.reason,
            comment=body.comment,
            sale_id=body.sale_id,
            lead_id=body.lead_id,
        )

    @router.post("/returns/{return_id}/approve", responses={409: {"description": "decided"}})
    async def approve(
        return_id: Id, body: Decision | None = None, caller: Caller = admin
    ) -> dict[str, Any]:
        """Approve: the buyer is credited its price, the supplier charged back its payout
        when the campaign says so, both as ledger entries dated now."""
        note = body.note if body else ""
        return await return_views.decide_return(
            ports, token_principal(caller), return_id, approve=True, note=note
        )

    @router.post("/returns/{return_id}/deny", responses={409: {"description": "decided"}})
    async def deny(return_id: Id, body: Denial, caller: Caller = admin) -> dict[str, Any]:
        """Deny, saying why (``note``)."""
        return await return_views.decide_return(
            ports, token_principal(caller), return_id, approve=False, note=body.note
        )

    @router.get("/accounts")
    async def accounts(caller: Caller = admin) -> dict[str, list[dict[str, Any]]]:
        """Every buyer's balance (with its account kind, credit limit, what it can still
        spend) and every supplier's (what the marketplace owes it)."""
        return await account_views.account_list(ports, token_principal(caller))

    @router.get("/accounts/{party}/{party_id}")
    async def account(
        party: Party,
        party_id: Id,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: Limit = 500,
        caller: Caller = admin,
    ) -> dict[str, Any]:
        """One account: balance and ledger entries, oldest first."""
        return await account_views.account_view(
            ports, token_principal(caller), party, party_id, start=since, end=until, limit=limit
        )

    @router.post("/accounts/buyer/{buyer_id}/topups", status_code=201)
    async def top_up(buyer_id: Id, body: Movement, caller: Caller = admin) -> dict[str, Any]:
        """Money received from a buyer: a ``topup`` entry; the auction sees it at once."""
        return await account_views.top_up_buyer(
            ports, token_principal(caller), buyer_id, body.value, body.note
        )

    @router.post("/accounts/{party}/{party_id}/adjustments", status_code=201)
    async def adjustment(
        party: Party, party_id: Id, body: Movement, caller: Caller = admin
    ) -> dict[str, Any]:
        """An ``adjustment`` entry (either sign), with its reason (``note``, required)."""
        return await account_views.adjust_account(
            ports, token_principal(caller), party, party_id, body.value, body.note
        )

    return router


def _buyer_routes(ports: Ports, keys: KeyChecker) -> APIRouter:
    buyer = Depends(party_principal(keys, "buyer"))
    router = APIRouter(prefix="/api/v1/buyer", tags=["buyer"], responses=PARTY_RESPONSES)

    @router.get("/returns")
    async def returns(
        status: Status = None,
        limit: Limit = 100,
        before: Before = None,
        principal: Principal = buyer,
    ) -> list[dict[str, Any]]:
        """The buyer's returns, newest first."""
        return await return_views.return_list(
            ports, principal, status=status, limit=limit, before=before
        )

    @router.post("/returns", status_code=201, responses={409: {"description": "not returnable"}})
    async def ask(body: BuyerReturnAsked, principal: Principal = buyer) -> dict[str, Any]:
        """Return a lead the buyer bought, within its order's window, for one of its
        vertical's reasons (``GET /leads/{lead_id}/return-reasons``)."""
        return await return_views.ask_return(
            ports, principal, reason=body.reason, comment=body.comment, lead_id=body.lead_id
        )

    @router.get("/leads/{lead_id}/return-reasons")
    async def reasons(lead_id: Id, principal: Principal = buyer) -> list[dict[str, Any]]:
        """The reasons this lead may be returned for."""
        return await return_views.reasons_for_lead(ports, principal, lead_id)

    @router.get("/account")
    async def account(
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: Limit = 500,
        principal: Principal = buyer,
    ) -> dict[str, Any]:
        """The buyer's balance, credit limit, what it can still spend, and its entries."""
        return await account_views.account_view(
            ports, principal, "buyer", principal.buyer_id or "", start=since, end=until, limit=limit
        )

    return router


def _supplier_routes(ports: Ports, keys: KeyChecker) -> APIRouter:
    supplier = Depends(party_principal(keys, "supplier"))
    router = APIRouter(prefix="/api/v1/supplier", tags=["supplier"], responses=PARTY_RESPONSES)

    @router.get("/returns")
    async def returns(
        status: Status = None,
        limit: Limit = 100,
        before: Before = None,
        principal: Principal = supplier,
    ) -> list[dict[str, Any]]:
        """The returns of the supplier's leads with what was charged back, newest first."""
        return await return_views.return_list(
            ports, principal, status=status, limit=limit, before=before
        )

    @router.get("/account")
    async def account(
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: Limit = 500,
        principal: Principal = supplier,
    ) -> dict[str, Any]:
        """What the marketplace owes the supplier, and its entries (payouts, chargebacks,
        adjustments)."""
        return await account_views.account_view(
            ports,
            principal,
            "supplier",
            principal.supplier_id or "",
            start=since,
            end=until,
            limit=limit,
        )

    return router
