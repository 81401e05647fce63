"""Hosted lead-capture forms, public: ``/f/{form}`` (the page), its submission, and
``/f/{form}/embed.js`` (a script tag that shows it in an iframe on the seller's page).

The pages are drawn by their own sandboxed, autoescaping Jinja environment with no
globals: a form's texts come from the configuration and a consumer's values are shown
back on errors, never trusted as markup. Every page says who may frame it
(``frame-ancestors``: pingtree itself and the form's ``frame_ancestors``).

A submission is refused before any work when its ``Origin`` (or ``Referer``) is another
site's (a page elsewhere posting on a consumer's behalf), when its token is not one this
server gave for this form lately (:func:`pingtree.api.form_views.check_token`), or when
its body is over 64 KiB.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pingtree.api.body import form_pairs, read_bounded
from pingtree.api.form_views import (
    FormAnswer,
    Submission,
    check_token,
    find_form,
    issue_token,
    submit_form,
)
from pingtree.api.problems import Problem
from pingtree.domain.forms import CARRIED_FIELDS, HostedForm, input_type
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports

__all__ = ["form_pages"]

#: what a browser fills in for these names (WHATWG autocomplete tokens)
_AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "phone": "tel",
    "zip": "postal-code",
    "state": "address-level1",
    "city": "address-level2",
    "address": "street-address",
    "date_of_birth": "bday",
}
_MAX_BODY = 64 * 1024


def form_templates() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=PackageLoader("pingtree.web", "templates/forms"),
        # the pages are HTML; embed.js holds JSON values only
        autoescape=select_autoescape(["html"], disabled_extensions=["js"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.clear()
    env.filters["input_type"] = lambda f: input_type(f.spec)
    env.filters["autocomplete"] = lambda f: _AUTOCOMPLETE.get(f.name, "on")
    return env


def form_pages(ports: Ports) -> APIRouter:
    templates = form_templates()
    router = APIRouter(include_in_schema=False)

    def page(form: HostedForm, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(template).render(form=form, **context)
        return HTMLResponse(html, status_code=status, headers=_headers(form))

    def missing(form_id: str) -> HTMLResponse:
        html = templates.get_template("missing.html").render(form_id=form_id)
        return HTMLResponse(html, status_code=404, headers=_headers(None))

    def shown(
        request: Request,
        form: HostedForm,
        carried: dict[str, str],
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        return page(
            form,
            "form.html",
            status,
            action=request.url.path,
            token=issue_token(ports, form),
            carried=carried,
            values=values or {},
            errors=errors or {},
        )

    @router.get("/f/{form_id}")
    async def show_form(request: Request, form_id: str) -> Response:
        try:
            form = find_form(ports, form_id)
        except NotFound:
            return missing(form_id)
        carried = {
            name: request.query_params[name][:2048]
            for name in CARRIED_FIELDS
            if request.query_params.get(name)
        }
        if "source_url" not in carried:
            # the page the consent is given on: the one framing the form, else the form's
            carried["source_url"] = request.headers.get("referer", str(request.url))[:2048]
        return shown(request, form, carried)

    @router.post("/f/{form_id}")
    async def send_form(request: Request, form_id: str) -> Response:
        try:
            form = find_form(ports, form_id)
        except NotFound:
            return missing(form_id)
        if not _same_site(request):
            return page(form, "refused.html", 403, why="This form was sent from another site.")
        try:
            raw = await read_bounded(request, _MAX_BODY)
        except Problem:
            return page(form, "refused.html", 413, why="The form is too large.")
        errors: list[Any] = []
        pairs = dict(form_pairs(raw, errors))
        checked = check_token(ports, form, pairs.get("form_token", ""))
        carried = {n: pairs[n][:2048] for n in CARRIED_FIELDS if pairs.get(n)}
        values = {f.name: pairs.get(f.name, "") for f in form.fields}
        if checked is None:
            why = {"": "This form has expired: please check your answers and send it again."}
            return shown(request, form, carried, values, why, status=400)
        if errors:
            bad = {str(e[0][-1]): "Please type this again." for e in errors if e[0]}
            return shown(request, form, carried, values, bad, status=422)
        submission = Submission(
            values={**values, **carried},
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent", ""),
        )
        answer: FormAnswer = await submit_form(ports, form, submission, checked[1])
        if answer.errors:
            return shown(request, form, carried, values, dict(answer.errors), status=422)
        if answer.redirect_url:
            return RedirectResponse(answer.redirect_url, status_code=303, headers=_headers(form))
        return page(form, "thanks.html")

    @router.get("/f/{form_id}/embed.js")
    async def embed_script(request: Request, form_id: str) -> Response:
        try:
            form = find_form(ports, form_id)
        except NotFound:
            return Response("/* no such form */", status_code=404, media_type="text/javascript")
        script = templates.get_template("embed.js").render(
            url=json.dumps(str(request.url_for("show_form", form_id=form.id))),
            title=json.dumps(form.title),
            carried=json.dumps(CARRIED_FIELDS),
        )
        return Response(
            script,
            media_type="text/javascript",
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    return router


def _headers(form: HostedForm | None) -> dict[str, str]:
    ancestors = " ".join(("'self'", *(form.frame_ancestors if form is not None else ())))
    return {
        # no script at all; styles inline; posts back here (then to a buyer's page)
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            f"base-uri 'none'; frame-ancestors {ancestors}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        # a form shows back what a consumer typed: never kept by a cache
        "Cache-Control": "no-store",
    }


def _same_site(request: Request) -> bool:
    """Whether a submission comes from our own page: its ``Origin`` (else ``Referer``) is
    this server's; a request with neither (an old browser, a privacy setting) passes on
    its token alone."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return claimed != "null"
    # the host (and port) only: behind a proxy ending TLS the app may see http for https
    return urlsplit(claimed).netloc.lower() == urlsplit(str(request.base_url)).netloc.lower()
