"""The configuration pages: buyers and their orders, suppliers and their campaigns, verticals.

Lists, an entity's page, create and edit forms, pause and resume, and "test this buyer".
Reads and writes go through the functions the admin API's entity routes call
(``config.entities``, ``api.config_entities``), so a form's edit is checked with the
messages of ``pingtree apply`` and reaches the next ping without a restart. Admins and
operators may edit; analysts only look.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import URL

from pingtree.api import config_views, crm_views
from pingtree.api.scoping import open_section
from pingtree.config.entities import Entity, Kind
from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.flows.errors import NotFound
from pingtree.flows.try_buyer import try_buyer
from pingtree.principals import Principal
from pingtree.web.config_forms import FORMS, form_values, merge_form, spec_from_form
from pingtree.web.site import PageError, Site, local_path

__all__ = ["config_pages"]

#: the list page of each kind: children are listed under their parents
_LIST_PAGE = {
    Kind.VERTICALS: "/ui/verticals",
    Kind.SUPPLIERS: "/ui/campaigns",
    Kind.CAMPAIGNS: "/ui/campaigns",
    Kind.BUYERS: "/ui/buyers",
    Kind.ORDERS: "/ui/buyers",
}
_CHILD_OF = {Kind.ORDERS: Kind.BUYERS, Kind.CAMPAIGNS: Kind.SUPPLIERS}
_PAUSABLE = (Kind.SUPPLIERS, Kind.CAMPAIGNS, Kind.BUYERS, Kind.ORDERS)
#: the kinds whose pages hold notes and contacts (``api.crm_views``)
_PARTIES: dict[Kind, crm_views.PartyKind] = {Kind.BUYERS: "buyer", Kind.SUPPLIERS: "supplier"}


def config_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/buyers")
    async def buyer_list(
        request: Request, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        return await _tree_page(site, request, viewer, Kind.BUYERS, "config_buyers.html")

    @router.get("/ui/campaigns")
    async def campaign_list(
        request: Request, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        return await _tree_page(site, request, viewer, Kind.SUPPLIERS, "config_campaigns.html")

    @router.get("/ui/verticals")
    async def vertical_list(
        request: Request, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        verticals = await config_views.entity_list(ports, viewer, Kind.VERTICALS)
        return _render(site, request, viewer, "config_verticals.html", verticals=verticals)

    @router.post("/ui/orders/{order_id}/test")
    async def test_order(
        request: Request,
        order_id: str,
        send_post: bool = Form(False),
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> HTMLResponse:
        _editor(viewer)
        try:
            exchanges = await try_buyer(
                ports.snapshots.current().config,
                order_id,
                {},
                client=ports.http,
                resolve_secret=ports.resolve_secret,
                post=send_post,
            )
        except NotFound as error:
            return await _entity_page(
                site, request, viewer, Kind.ORDERS, order_id, test_error=str(error)
            )
        return await _entity_page(site, request, viewer, Kind.ORDERS, order_id, exchanges=exchanges)

    for kind in (Kind.VERTICALS, Kind.SUPPLIERS, Kind.BUYERS):
        _new_routes(router, site, kind, f"/ui/{kind.value}/new", parent=None)
    _new_routes(
        router, site, Kind.CAMPAIGNS, "/ui/suppliers/{parent_id}/campaigns/new", Kind.SUPPLIERS
    )
    _new_routes(router, site, Kind.ORDERS, "/ui/buyers/{parent_id}/orders/new", Kind.BUYERS)
    for kind in Kind:
        _entity_routes(router, site, kind)
    return router


def _entity_routes(router: APIRouter, site: Site, kind: Kind) -> None:
    """An entity's page, its edit form, and pause/resume where it has a status."""
    base = f"/ui/{kind.value}/{{entity_id}}"

    async def show(
        request: Request,
        entity_id: str,
        notice: str = "",
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        return await _entity_page(site, request, viewer, kind, entity_id, notice=notice)

    async def edit_form(
        request: Request, entity_id: str, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        _editor(viewer)
        entity = await config_views.entity(site.ports, viewer, kind, entity_id)
        values = form_values(FORMS[kind], entity.spec)
        return await _form_page(site, request, viewer, kind, values, entity=entity)

    async def edit(
        request: Request, entity_id: str, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> Any:
        _editor(viewer)
        entity = await config_views.entity(site.ports, viewer, kind, entity_id)
        return await _save(site, request, viewer, kind, entity_id, entity.parent_id, entity)

    router.add_api_route(base, show, methods=["GET"])
    router.add_api_route(f"{base}/edit", edit_form, methods=["GET"])
    router.add_api_route(f"{base}/edit", edit, methods=["POST"])
    if kind not in _PAUSABLE:
        return

    async def pause(
        entity_id: str,
        next_page: str = Form("", alias="next"),
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        return await _switch(site, viewer, kind, entity_id, next_page, paused=True)

    async def resume(
        entity_id: str,
        next_page: str = Form("", alias="next"),
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        return await _switch(site, viewer, kind, entity_id, next_page, paused=False)

    router.add_api_route(f"{base}/pause", pause, methods=["POST"])
    router.add_api_route(f"{base}/resume", resume, methods=["POST"])


def _new_routes(router: APIRouter, site: Site, kind: Kind, path: str, parent: Kind | None) -> None:
    """The form for a new entity; a campaign's or order's names its parent in the path."""

    async def new_form(
        request: Request, parent_id: str = "", viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        _editor(viewer)
        if parent is not None:
            await config_views.entity(site.ports, viewer, parent, parent_id)
        values = {"id": "", **form_values(FORMS[kind], {})}
        return await _form_page(site, request, viewer, kind, values, parent_id=parent_id or None)

    async def create(
        request: Request, parent_id: str = "", viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> Any:
        _editor(viewer)
        entity_id = str((await request.form()).get("id", "")).strip()
        return await _save(site, request, viewer, kind, entity_id, parent_id or None, None)

    router.add_api_route(path, new_form, methods=["GET"])
    router.add_api_route(path, create, methods=["POST"])


# --- the pages ---------------------------------------------------------------------------------


async def _tree_page(
    site: Site, request: Request, viewer: Principal, parent: Kind, template: str
) -> HTMLResponse:
    """A list of parents, each with its children: buyers and orders, suppliers and campaigns."""
    child = Kind.ORDERS if parent is Kind.BUYERS else Kind.CAMPAIGNS
    parents = await config_views.entity_list(site.ports, viewer, parent)
    children: dict[str | None, list[Entity]] = defaultdict(list)
    for entity in await config_views.entity_list(site.ports, viewer, child):
        children[entity.parent_id].append(entity)
    return _render(site, request, viewer, template, parents=parents, children=children)


async def _entity_page(
    site: Site,
    request: Request,
    viewer: Principal,
    kind: Kind,
    entity_id: str,
    *,
    notice: str = "",
    exchanges: Sequence[dict[str, Any]] = (),
    test_error: str = "",
) -> HTMLResponse:
    ports = site.ports
    entity = await config_views.entity(ports, viewer, kind, entity_id)
    context: dict[str, Any] = {"entity": entity, "notice": notice, "parent_status": "active"}
    if kind in _CHILD_OF and entity.parent_id is not None:
        # an order of a paused buyer, a campaign of a paused supplier, is effectively paused
        parent = await config_views.entity(ports, viewer, _CHILD_OF[kind], entity.parent_id)
        context["parent_status"] = parent.status
    if kind is Kind.BUYERS:
        orders = await config_views.entity_list(ports, viewer, Kind.ORDERS)
        context["orders"] = [order for order in orders if order.parent_id == entity.id]
    if kind in _PARTIES:
        context.update(await crm_views.party_crm(ports, viewer, _PARTIES[kind], entity_id))
    if kind is Kind.ORDERS:
        context.update(
            cap_uses=await config_views.cap_uses(site.ports, viewer, entity_id), exchanges=exchanges
        )
        context.update(test_error=test_error)
    template = {
        Kind.BUYERS: "config_buyer.html",
        Kind.ORDERS: "config_order.html",
    }.get(kind, "config_entity.html")
    return _render(site, request, viewer, template, **context)


async def _form_page(
    site: Site,
    request: Request,
    viewer: Principal,
    kind: Kind,
    values: dict[str, str],
    *,
    entity: Entity | None = None,
    parent_id: str | None = None,
    issues: Sequence[ConfigIssue] = (),
) -> HTMLResponse:
    verticals = await config_views.entity_list(site.ports, viewer, Kind.VERTICALS)
    return _render(
        site,
        request,
        viewer,
        "config_form.html",
        status=422 if issues else 200,
        kind=kind,
        fields=FORMS[kind],
        values=values,
        entity=entity,
        parent_id=parent_id or (entity.parent_id if entity else None),
        issues=[str(issue) for issue in issues],
        invalid={_field_of(issue.path) for issue in issues},
        verticals=[vertical.id for vertical in verticals],
    )


async def _save(
    site: Site,
    request: Request,
    viewer: Principal,
    kind: Kind,
    entity_id: str,
    parent_id: str | None,
    entity: Entity | None,
) -> HTMLResponse | RedirectResponse:
    """Apply a submitted form; the entity's page on success, the form again with every
    issue otherwise."""
    form = {name: value for name, value in (await request.form()).items() if isinstance(value, str)}
    try:
        if not entity_id:
            raise ConfigError([ConfigIssue("id", "required")])
        spec = spec_from_form(FORMS[kind], form)
        if entity is not None:
            # the form shows some keys only: the others are kept as stored
            spec = merge_form(FORMS[kind], entity.spec, spec)
        if entity is None and await _exists(site, viewer, kind, entity_id):
            raise ConfigError([ConfigIssue("id", f"a {kind.singular} has this id already")])
        change = await config_views.save(site.ports, viewer, kind, entity_id, spec, parent_id)
    except ConfigError as error:
        return await _form_page(
            site,
            request,
            viewer,
            kind,
            form,
            entity=entity,
            parent_id=parent_id,
            issues=error.issues,
        )
    notice = "created" if change.created else "saved" if change.diff.changed else "unchanged"
    return _redirect(kind, entity_id, notice)


async def _exists(site: Site, viewer: Principal, kind: Kind, entity_id: str) -> bool:
    try:
        await config_views.entity(site.ports, viewer, kind, entity_id)
    except NotFound:
        return False
    return True


async def _switch(
    site: Site, viewer: Principal, kind: Kind, entity_id: str, next_page: str, *, paused: bool
) -> RedirectResponse:
    _editor(viewer)
    try:
        await config_views.switch(site.ports, viewer, kind, entity_id, paused=paused)
    except ConfigError as error:
        raise PageError(
            422, "The change cannot be applied.", [str(i) for i in error.issues]
        ) from None
    notice = "paused" if paused else "resumed"
    if next_page:
        target = URL(local_path(next_page)).include_query_params(notice=notice)
        return RedirectResponse(str(target), status_code=303)
    return _redirect(kind, entity_id, notice)


def _redirect(kind: Kind, entity_id: str, notice: str) -> RedirectResponse:
    target = URL(f"/ui/{kind.value}/{entity_id}").include_query_params(notice=notice)
    return RedirectResponse(str(target), status_code=303)


def _render(
    site: Site, request: Request, viewer: Principal, template: str, **context: Any
) -> HTMLResponse:
    open_section(viewer, "config")  # the marketplace's whole configuration: staff only
    return site.render(
        request,
        template,
        viewer=viewer,
        may_edit=config_views.may_edit_config(viewer),
        list_page=_LIST_PAGE,
        **context,
    )


def _editor(viewer: Principal) -> None:
    if not config_views.may_edit_config(viewer):
        raise PageError(403, f"The {viewer.role} role may not change the configuration.")


def _field_of(path: str) -> str:
    """The form field an issue's path lies in: ``caps[0].limit`` → ``caps``."""
    head, _, rest = path.partition(".")
    head = head.partition("[")[0]
    if head in ("pricing", "payout") and rest:
        return f"{head}.{rest.partition('.')[0].partition('[')[0]}"
    return head
