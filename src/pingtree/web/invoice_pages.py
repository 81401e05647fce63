"""The invoices pages (``/ui/invoices``): issued invoices and payout statements, drafts,
their PDF and CSV, and issuing. The staff see every party's; a buyer's user its own
invoices, a supplier's user its own statements (the buyer and supplier portals). The data
and the rules are ``api.invoice_views``' (what a document holds: ``flows.invoicing``).

A period comes from the form as text (an empty date is no date): ``month`` (``2026-11``) or
``from`` and ``to``; a bad one is a 400 page naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pingtree.api import invoice_views as views
from pingtree.api.invoice_documents import headline, line_columns, total_rows
from pingtree.api.invoices import document_response
from pingtree.domain.fields import FieldError
from pingtree.flows.errors import InputError
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["invoice_pages"]

_Text = Annotated[str, Query(max_length=80)]


def invoice_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/invoices")
    async def listing(
        request: Request, party: _Text = "", viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        rows = await _or_page(views.documents(ports, viewer, party or None))
        return site.render(
            request,
            "invoices.html",
            viewer=viewer,
            rows=rows,
            parties=views.parties(ports, viewer),
            party=party,
        )

    @router.get("/ui/invoices/draft")
    async def draft(
        request: Request,
        party: _Text = "",
        month: _Text = "",
        first: Annotated[str, Query(alias="from", max_length=10)] = "",
        last: Annotated[str, Query(alias="to", max_length=10)] = "",
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        asked = _asked(month, first, last)
        document = await _or_page(views.draft(ports, viewer, party or None, asked))
        query = request.url.query
        files = (f"/ui/invoices/draft.pdf?{query}", f"/ui/invoices/draft.csv?{query}")
        return _document_page(site, request, viewer, document, files)

    for suffix in ("pdf", "csv"):
        _draft_file(router, site, suffix)

    @router.post("/ui/invoices/issue")
    async def issue(
        party: Annotated[str, Form(max_length=80)] = "",
        month: Annotated[str, Form(max_length=10)] = "",
        first: Annotated[str, Form(alias="from", max_length=10)] = "",
        last: Annotated[str, Form(alias="to", max_length=10)] = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        asked = _asked(month, first, last, source="body")
        try:
            document = await _or_page(views.issue(ports, viewer, party or None, asked))
        except views.AlreadyIssued as issued:
            raise PageError(409, f"Not issued: {issued}.") from None
        return RedirectResponse(f"/ui/invoices/{document['number']}", status_code=303)

    for suffix in ("pdf", "csv"):
        _issued_file(router, site, suffix)

    @router.get("/ui/invoices/{number}")
    async def issued(
        request: Request, number: str, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        document = await views.document(ports, viewer, number)
        files = (f"/ui/invoices/{number}.pdf", f"/ui/invoices/{number}.csv")
        return _document_page(site, request, viewer, document, files)

    return router


def _draft_file(router: APIRouter, site: Site, suffix: str) -> None:
    @router.get(f"/ui/invoices/draft.{suffix}")
    async def draft_file(
        party: _Text = "",
        month: _Text = "",
        first: Annotated[str, Query(alias="from", max_length=10)] = "",
        last: Annotated[str, Query(alias="to", max_length=10)] = "",
        viewer: Principal = Depends(site.signed_in),
    ) -> Response:
        asked = _asked(month, first, last)
        document = await _or_page(views.draft(site.ports, viewer, party or None, asked))
        return _file(document, suffix)


def _issued_file(router: APIRouter, site: Site, suffix: str) -> None:
    @router.get(f"/ui/invoices/{{number}}.{suffix}")
    async def issued_file(number: str, viewer: Principal = Depends(site.signed_in)) -> Response:
        return _file(await views.document(site.ports, viewer, number), suffix)


def _file(document: dict[str, Any], suffix: str) -> Response:
    answer = document_response(document, "pdf" if suffix == "pdf" else "csv")
    assert isinstance(answer, Response)  # a file format, never the JSON model
    return answer


def _document_page(
    site: Site,
    request: Request,
    viewer: Principal,
    document: dict[str, Any],
    files: tuple[str, str],
) -> HTMLResponse:
    period = document["period"]
    return site.render(
        request,
        "invoice.html",
        viewer=viewer,
        document=document,
        columns=line_columns(document),
        totals=total_rows(document),
        headline=headline(document),
        pdf=files[0],
        csv=files[1],
        issue={
            "party": f"{document['party']['kind']}:{document['party']['id']}",
            "from": period["first"],
            "to": period["last"],
        },
    )


def _asked(month: str, first: str, last: str, source: views.Source = "query") -> views.PeriodAsked:
    return views.PeriodAsked(
        month or None, _date(first, "from", source), _date(last, "to", source), source=source
    )


def _date(text: str, name: str, source: views.Source) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        error = FieldError((source, name), "a date as YYYY-MM-DD", "invalid_date", text)
        raise _page(InputError([error])) from None


async def _or_page(work: Any) -> Any:
    """Await a view; its input errors as a 400 page naming each field."""
    try:
        return await work
    except InputError as error:
        raise _page(error) from None


def _page(error: InputError) -> PageError:
    details = [f"{e.loc[-1]}: {e.msg}" for e in error.errors]
    return PageError(400, "The period or the party is not valid.", details)
