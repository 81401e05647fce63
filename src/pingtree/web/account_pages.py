"""The accounts pages: ``/ui/accounts``, every buyer's and supplier's balance (staff);
``/ui/accounts/{party}/{id}``, one account's balance and ledger entries, with the forms that
move money by hand (a buyer's top-up, an adjustment of either, a reason required) for those
who run the marketplace; and ``/ui/my-account``, a buyer's or a supplier's own account in
its portal. The data and the rules are ``api.account_views``'.

An amount comes from the form as text (``125.00``, ``-12.50`` for an adjustment out); one
that is no amount, or a missing reason, is shown on the account's page (422) naming the
field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pingtree.api import account_views
from pingtree.flows.errors import InputError
from pingtree.flows.money import MAX_NOTE
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["account_pages"]

_Party = Annotated[str, Path(pattern=r"^(buyer|supplier)$")]
_PartyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
_Day = Annotated[str, Query(max_length=10)]


def account_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/accounts")
    async def accounts(
        request: Request, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        listed = await account_views.account_list(ports, viewer)
        return site.render(
            request,
            "accounts.html",
            viewer=viewer,
            buyers=listed["buyers"],
            suppliers=listed["suppliers"],
        )

    @router.get("/ui/accounts/{party}/{party_id}")
    async def account(
        request: Request,
        party: _Party,
        party_id: _PartyId,
        first: Annotated[str, Query(alias="from", max_length=10)] = "",
        last: Annotated[str, Query(alias="to", max_length=10)] = "",
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        if not viewer.is_staff:  # one way for a party: its portal's /ui/my-account
            raise PageError(403, f"The {viewer.role} role sees its own account only.")
        return await _account_page(site, request, viewer, party, party_id, first, last)

    @router.get("/ui/my-account")
    async def my_account(
        request: Request,
        first: Annotated[str, Query(alias="from", max_length=10)] = "",
        last: Annotated[str, Query(alias="to", max_length=10)] = "",
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        party_id = viewer.buyer_id if viewer.role == "buyer" else viewer.supplier_id
        if viewer.role not in ("buyer", "supplier") or party_id is None:
            raise PageError(403, f"The {viewer.role} role has no account of its own.")
        return await _account_page(site, request, viewer, viewer.role, party_id, first, last)

    @router.post("/ui/accounts/buyer/{party_id}/top-up")
    async def top_up(
        request: Request,
        party_id: _PartyId,
        amount: Annotated[str, Form(max_length=20)] = "",
        note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> Response:
        try:
            await account_views.top_up_buyer(ports, viewer, party_id, _amount(amount), note)
        except InputError as invalid:
            asked = {"form": "top-up", "amount": amount, "note": note}
            return await _account_page(
                site, request, viewer, "buyer", party_id, errors=_lines(invalid), asked=asked
            )
        return RedirectResponse(f"/ui/accounts/buyer/{party_id}", status_code=303)

    @router.post("/ui/accounts/{party}/{party_id}/adjust")
    async def adjust(
        request: Request,
        party: _Party,
        party_id: _PartyId,
        amount: Annotated[str, Form(max_length=20)] = "",
        note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> Response:
        try:
            await account_views.adjust_account(
                ports, viewer, party, party_id, _amount(amount), note
            )
        except InputError as invalid:
            asked = {"form": "adjust", "amount": amount, "note": note}
            return await _account_page(
                site, request, viewer, party, party_id, errors=_lines(invalid), asked=asked
            )
        return RedirectResponse(f"/ui/accounts/{party}/{party_id}", status_code=303)

    return router


async def _account_page(
    site: Site,
    request: Request,
    viewer: Principal,
    party: str,
    party_id: str,
    first: str = "",
    last: str = "",
    *,
    errors: list[str] | None = None,
    asked: dict[str, str] | None = None,
) -> HTMLResponse:
    """One account with its entries from ``first`` to ``last`` (days, UTC, both included),
    and the refused form's input and why after a refused top-up or adjustment."""
    start, end = _day(first, "from"), _day(last, "to")
    shown = await account_views.account_view(
        site.ports,
        viewer,
        party,
        party_id,
        start=_midnight(start),
        end=_midnight(end + dt.timedelta(days=1) if end else None),
    )
    return site.render(
        request,
        "account.html",
        viewer=viewer,
        account=shown,
        first=first,
        last=last,
        errors=errors or [],
        asked=asked or {},
        status=422 if errors else 200,
    )


def _amount(text: str) -> Decimal:
    """The form's amount as a ``Decimal``; text that is no number is NaN, which the view
    refuses naming ``amount`` (after it checked who may move money, so a refusal of the
    principal comes first), as it does a bad sign or a fraction of a cent."""
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return Decimal("NaN")


def _day(text: str, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        details = [f"{name}: a date as YYYY-MM-DD"]
        raise PageError(400, "The dates are not valid.", details) from None


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _lines(error: InputError) -> list[str]:
    return [f"{e.loc[-1]}: {e.msg}" for e in error.errors]
