"""The invoices API: buyers' invoices and suppliers' payout statements, drafts and issued.

Admin tokens (``/api/v1/admin/invoices…``), and the parties' own keys for their own
(``/api/v1/buyer/invoices…``, ``/api/v1/supplier/statements…``). A party is
``buyer:<id>`` or ``supplier:<id>``; a period is ``month`` (``2026-11``) or ``from`` and
``to`` (local dates, both included) in the party's time zone, last month when neither is
given. A document is JSON, or CSV or PDF
with ``format``. What a document holds and when it is fixed: ``flows.invoicing``; who sees
what: ``api.invoice_views``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from pingtree.api import invoice_views as views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.invoice_documents import document_csv, document_name, document_pdf
from pingtree.api.party_auth import PARTY_RESPONSES, PartyRole, party_principal
from pingtree.api.problems import Problem
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal

__all__ = [
    "FORMATS",
    "PARTY_PATTERN",
    "DocumentOut",
    "IssueIn",
    "document_response",
    "invoices_router",
    "party_invoices_router",
]

Format = Literal["json", "csv", "pdf"]
FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}, "application/pdf": {}},
        "description": "JSON, or CSV or PDF with format",
    }
}
PARTY_PATTERN = r"^(buyer|supplier):[A-Za-z0-9_.:-]{1,64}$"
_PERIOD_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "a period not as documented (month or from and to, from ≤ to)"}
}
Party = Annotated[
    str | None,
    Query(description="buyer:<id> or supplier:<id>", pattern=PARTY_PATTERN, max_length=80),
]
Month = Annotated[
    str | None, Query(description="a calendar month, YYYY-MM", pattern=r"^\d{4}-\d{2}$")
]
First = Annotated[dt.date | None, Query(alias="from", description="first day, included")]
Last = Annotated[dt.date | None, Query(alias="to", description="last day, included")]


class LineOut(BaseModel):
    entry_id: str
    #: the local date of the entry in the period's time zone
    date: str
    kind: str
    lead_id: str | None
    #: a buyer's order (invoices) or a supplier's campaign (statements)
    order_id: str | None = None
    campaign_id: str | None = None
    amount: str
    note: str
    #: dated before the period, and on no earlier issued document
    carried: bool


class SectionOut(BaseModel):
    kind: str
    title: str
    count: int
    total: str


class PeriodOut(BaseModel):
    first: str
    last: str
    time_zone: str
    start: str
    end: str


class PartyOut(BaseModel):
    kind: str
    id: str
    name: str


class DocumentOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: Literal["invoice", "statement"]
    #: ``null`` for a draft
    number: str | None
    status: Literal["draft", "issued"]
    party: PartyOut
    #: a buyer's ``prepaid`` or ``credit`` account, if it has one
    account_kind: str | None
    period: PeriodOut
    sections: list[SectionOut]
    lines: list[LineOut]
    #: money as text with two decimals; counts as numbers
    totals: dict[str, str | int]
    issued_by: str | None
    issued_at: str | None


class SummaryOut(BaseModel):
    number: str
    kind: str
    party: PartyOut
    period: PeriodOut
    totals: dict[str, str | int]
    issued_by: str
    issued_at: str


class IssueIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    party: str = Field(pattern=PARTY_PATTERN, max_length=80)
    month: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")
    first: dt.date | None = Field(default=None, alias="from")
    last: dt.date | None = Field(default=None, alias="to")


def document_response(document: dict[str, Any], format: Format) -> Response | DocumentOut:
    """The document in the format asked: JSON, or CSV or PDF as an attachment."""
    if format == "json":
        return DocumentOut.model_validate(document)
    if format == "csv":
        body: bytes | str = document_csv(document)
        media_type = "text/csv; charset=utf-8"
    else:
        body, media_type = document_pdf(document), "application/pdf"
    name = document_name(document, format)
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def invoices_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin", tags=["invoices"], responses=ADMIN_RESPONSES)
    admin = Depends(admin_only(keys))

    @router.get("/invoices", response_model=list[SummaryOut])
    async def list_documents(party: Party = None, caller: Caller = admin) -> Any:
        """Issued invoices and statements, newest first; of one party when named."""
        return await views.documents(ports, token_principal(caller), party)

    @router.get(
        "/invoices/draft",
        response_model=DocumentOut,
        responses={**FORMATS, **_PERIOD_RESPONSES},
    )
    async def draft(
        party: Party = None,
        month: Month = None,
        first: First = None,
        last: Last = None,
        format: Format = "json",
        caller: Caller = admin,
    ) -> Any:
        """The party's draft for the period: what issuing it now would hold, unnumbered."""
        asked = views.PeriodAsked(month, first, last)
        document = await views.draft(ports, token_principal(caller), party, asked)
        return document_response(document, format)

    @router.post(
        "/invoices",
        status_code=201,
        response_model=DocumentOut,
        responses={
            409: {"description": "the period starts before the end of the party's last one"},
            **_PERIOD_RESPONSES,
        },
    )
    async def issue(body: IssueIn, caller: Caller = admin) -> Any:
        """Issue the party's invoice (a buyer) or payout statement (a supplier) for an
        ended period: the next number of its kind, fixed from then on."""
        asked = views.PeriodAsked(body.month, body.first, body.last, source="body")
        try:
            return await views.issue(ports, token_principal(caller), body.party, asked)
        except views.AlreadyIssued as issued:
            raise Problem(409, str(issued), "already_issued") from None

    @router.get("/invoices/{number}", response_model=DocumentOut, responses=FORMATS)
    async def get_document(
        number: Annotated[str, Path(max_length=32)],
        format: Format = "json",
        caller: Caller = admin,
    ) -> Any:
        """An issued invoice or statement by its number, as issued."""
        return document_response(
            await views.document(ports, token_principal(caller), number), format
        )

    return router


def party_invoices_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    """A buyer's own invoices (``/api/v1/buyer/invoices…``) and a supplier's own payout
    statements (``/api/v1/supplier/statements…``), with the party's own key; an admin
    token is refused here (the admin API names the party)."""
    router = APIRouter()
    router.include_router(_party_routes(ports, keys, "buyer", "/api/v1/buyer/invoices"))
    router.include_router(_party_routes(ports, keys, "supplier", "/api/v1/supplier/statements"))
    return router


def _party_routes(ports: Ports, keys: KeyChecker, role: PartyRole, path: str) -> APIRouter:
    allowed = party_principal(keys, role)

    async def own(request: Request) -> Principal:
        principal = await allowed(request)
        if principal.party is None:
            raise Forbidden(f"a {role} key is required: the admin API names the party")
        return principal

    party = Depends(own)
    router = APIRouter(prefix=path, tags=[role], responses=PARTY_RESPONSES)

    @router.get("", response_model=list[SummaryOut])
    async def list_own(principal: Principal = party) -> Any:
        """Its issued documents, newest first."""
        return await views.documents(ports, principal)

    @router.get("/draft", response_model=DocumentOut, responses={**FORMATS, **_PERIOD_RESPONSES})
    async def own_draft(
        month: Month = None,
        first: First = None,
        last: Last = None,
        format: Format = "json",
        principal: Principal = party,
    ) -> Any:
        """Its draft for the period (last month by default): what the next one would hold."""
        document = await views.draft(ports, principal, None, views.PeriodAsked(month, first, last))
        return document_response(document, format)

    @router.get("/{number}", response_model=DocumentOut, responses=FORMATS)
    async def own_document(
        number: Annotated[str, Path(max_length=32)],
        format: Format = "json",
        principal: Principal = party,
    ) -> Any:
        """One of its issued documents by number, as issued (another party's: 404)."""
        return document_response(await views.document(ports, principal, number), format)

    return router
