"""The dispositions' routes for staff on the admin API (a lead's dispositions, reporting one
for a buyer, the report), and the request and answer shapes the party API shares. The rules
are ``api.disposition_views``'."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from pingtree.api import disposition_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.problems import field_problem
from pingtree.api.scoping import token_principal
from pingtree.domain.dispositions import MAX_NOTE
from pingtree.flows.ports import Ports
from pingtree.principals import Principal

__all__ = [
    "DispositionAsked",
    "DispositionsReportOut",
    "disposition_routes",
    "dispositions_report",
]

_LEAD_ID = r"^[A-Za-z0-9-]{1,64}$"


class DispositionAsked(BaseModel):
    """A buyer's report of what became of a lead."""

    #: a code of the lead's vertical (``contacted``, ``quoted``, ``sold``, ``bad_number``…)
    code: str = Field(min_length=1, max_length=64)
    #: money, as text (``"1250.00"``) or a number: the policy's premium, the loan's fee…
    value: str | int | float | None = None
    note: str = Field(default="", max_length=MAX_NOTE)


class StaffDispositionAsked(DispositionAsked):
    #: the buyer it is reported for, when the lead was sold to several
    buyer_id: str | None = Field(default=None, max_length=64)


class DispositionFiguresOut(BaseModel):
    """One group of sold leads (sales: a lead sold to two buyers counts once for each)."""

    supplier: str | None = None
    campaign: str | None = None
    sub_id: str | None = None
    buyer: str | None = None
    order: str | None = None
    vertical: str | None = None
    sold: int
    #: sold leads with a disposition
    disposed: int
    #: by their current (latest) disposition's code
    contacted: int
    converted: int
    #: disposed ÷ sold
    disposition_rate: float | None
    #: contacted ÷ disposed
    contact_rate: float | None
    #: converted ÷ disposed
    conversion_rate: float | None
    #: the current dispositions' values, summed
    value: str
    #: value ÷ sold
    value_per_sold: str | None
    #: current code → how many
    codes: dict[str, int]


class DispositionsReportOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    by: list[str]
    test: bool
    rows: list[DispositionFiguresOut]
    total: DispositionFiguresOut


async def dispositions_report(
    ports: Ports,
    principal: Principal,
    since: dt.date | None,
    until: dt.date | None,
    by: list[str],
    test: bool,
) -> DispositionsReportOut:
    """The report for a route: a bad range or dimension is a 422 naming the parameter."""
    try:
        start, end = disposition_views.report_range(ports.clock.now(), since, until)
    except ValueError as error:
        raise field_problem(("query", "since"), str(error), "value_error", since) from None
    try:
        found: dict[str, Any] = await disposition_views.disposition_report(
            ports, principal, start, end, by=by, test=test
        )
    except ValueError as error:
        raise field_problem(("query", "by"), str(error), "value_error", by) from None
    return DispositionsReportOut.model_validate(found)


def disposition_routes(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin", tags=["admin"], dependencies=[admin], responses=ADMIN_RESPONSES
    )

    @router.get("/leads/{lead_id}/dispositions")
    async def lead_dispositions(
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)], caller: Caller = admin
    ) -> list[dict[str, Any]]:
        """Every buyer's dispositions of the lead, newest first: code, what it means, value,
        note, who reported it and when."""
        principal = token_principal(caller)
        return await disposition_views.lead_dispositions(ports, principal, lead_id)

    @router.post("/leads/{lead_id}/dispositions", status_code=201)
    async def report_disposition(
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)],
        body: StaffDispositionAsked,
        caller: Caller = admin,
    ) -> dict[str, Any]:
        """Report a disposition for the buyer of a sold lead (``buyer_id`` when it was sold
        to several): as the buyer's own report, recorded as this token's."""
        return await disposition_views.report_disposition(
            ports,
            token_principal(caller),
            lead_id,
            code=body.code,
            value=body.value,
            note=body.note,
            buyer_id=body.buyer_id,
        )

    @router.get("/reports/dispositions")
    async def report(
        since: dt.date | None = None,
        until: dt.date | None = None,
        by: Annotated[list[str] | None, Query()] = None,
        test: bool = False,
        caller: Caller = admin,
    ) -> DispositionsReportOut:
        """Sold leads by ``by`` (any of ``supplier``, ``campaign``, ``sub_id``, ``buyer``,
        ``order``, ``vertical``; default supplier, campaign and ``sub_id``) over the UTC days
        ``since`` to ``until`` (default the last 30): leads with a disposition, contact and
        conversion rates, downstream value per sold lead."""
        return await dispositions_report(
            ports,
            token_principal(caller),
            since,
            until,
            by or ["supplier", "campaign", "sub_id"],
            test,
        )

    return router
