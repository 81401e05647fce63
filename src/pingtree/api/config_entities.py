"""The admin API for one configured entity at a time: verticals, suppliers, campaigns,
buyers and orders.

Each change applies like ``pingtree apply`` (same validation, same messages, a new
``config_version``) and reaches the next ping without a restart. A body is the entity's
spec in JSON or YAML; a new campaign names its supplier (``supplier_id``), a new order its
buyer (``buyer_id``). Invalid input is a 422 listing every issue; an unknown id a 404.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from pingtree.api import config_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.body import read_bounded
from pingtree.api.problems import Problem
from pingtree.api.scoping import token_principal
from pingtree.config import entities
from pingtree.config.entities import Change, Entity, Kind
from pingtree.config.errors import ConfigError
from pingtree.config.parse import read_yaml
from pingtree.flows.ports import Ports

__all__ = ["config_entities_router", "config_problem"]

_MAX_SPEC_BYTES = 1024 * 1024
_SPEC_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the entity's spec, as in the YAML document (its id may be left out)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


class PausableKind(StrEnum):
    SUPPLIERS = "suppliers"
    CAMPAIGNS = "campaigns"
    BUYERS = "buyers"
    ORDERS = "orders"


class EntityOut(BaseModel):
    kind: Kind
    id: str
    #: ``active`` or ``paused``
    status: str
    #: a campaign's supplier, an order's buyer
    parent_id: str | None
    #: a supplier's campaigns, a buyer's orders
    children: list[str]
    #: canonical: defaults left out, money as strings; no children
    spec: dict[str, Any]


class EntityDetailOut(EntityOut):
    #: the spec as YAML text
    yaml: str


class ChangeOut(BaseModel):
    entity: EntityDetailOut
    created: bool
    changed: bool
    #: what changed, one line per entity, as ``pingtree apply`` prints it
    diff: str


def config_entities_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1/admin/config",
        tags=["configuration"],
        responses=ADMIN_RESPONSES,
    )
    admin = Depends(admin_only(keys))

    @router.get("/{kind}")
    async def list_entities(kind: Kind, caller: Caller = admin) -> list[EntityOut]:
        """Every entity of a kind with its spec and status, in id order."""
        listed = await config_views.entity_list(ports, token_principal(caller), kind)
        return [_out(entity) for entity in listed]

    @router.get("/{kind}/{entity_id}")
    async def get_entity(kind: Kind, entity_id: str, caller: Caller = admin) -> EntityDetailOut:
        """One entity: its spec as JSON and as YAML text."""
        return _detail(await config_views.entity(ports, token_principal(caller), kind, entity_id))

    @router.put(
        "/{kind}/{entity_id}",
        openapi_extra=_SPEC_BODY,
        responses={201: {"model": ChangeOut, "description": "created"}},
    )
    async def put_entity(
        request: Request,
        response: Response,
        kind: Kind,
        entity_id: str,
        supplier_id: Annotated[str | None, Query(description="a campaign's supplier")] = None,
        buyer_id: Annotated[str | None, Query(description="an order's buyer")] = None,
        caller: Caller = admin,
    ) -> ChangeOut:
        """Create (201) or replace (200) one entity; its children left out of the spec stay."""
        spec = await _read_spec(request)
        if (supplier_id and kind is not Kind.CAMPAIGNS) or (buyer_id and kind is not Kind.ORDERS):
            raise Problem(400, "supplier_id names a campaign's supplier, buyer_id an order's buyer")
        try:
            change = await config_views.save(
                ports, token_principal(caller), kind, entity_id, spec, supplier_id or buyer_id
            )
        except ConfigError as error:
            raise config_problem(error) from None
        response.status_code = 201 if change.created else 200
        return _change_out(change)

    @router.post("/{kind}/{entity_id}/pause")
    async def pause(kind: PausableKind, entity_id: str, caller: Caller = admin) -> ChangeOut:
        """Take the entity out of the next ping's auction; its caps keep their use."""
        return await _switch(ports, caller, Kind(kind.value), entity_id, paused=True)

    @router.post("/{kind}/{entity_id}/resume")
    async def resume(kind: PausableKind, entity_id: str, caller: Caller = admin) -> ChangeOut:
        """Put a paused entity back into the next ping's auction."""
        return await _switch(ports, caller, Kind(kind.value), entity_id, paused=False)

    return router


def config_problem(error: ConfigError) -> Problem:
    """A 422 listing every issue at its path (relative to the entity's spec where inside it)."""
    return Problem.from_errors(
        [(("body", issue.path), issue.msg, "config", issue.value) for issue in error.issues]
    )


async def _read_spec(request: Request) -> object:
    raw = await read_bounded(request, _MAX_SPEC_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "the body is not valid UTF-8") from None
    if "json" in request.headers.get("content-type", ""):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise Problem(400, f"the body is not valid JSON: {exc}") from None
    try:
        return read_yaml(text)
    except ConfigError as error:
        raise config_problem(error) from None


async def _switch(
    ports: Ports, caller: Caller, kind: Kind, entity_id: str, *, paused: bool
) -> ChangeOut:
    principal = token_principal(caller)
    try:
        change = await config_views.switch(ports, principal, kind, entity_id, paused=paused)
    except ConfigError as error:
        raise config_problem(error) from None
    return _change_out(change)


def _change_out(change: Change) -> ChangeOut:
    return ChangeOut(
        entity=_detail(change.entity),
        created=change.created,
        changed=change.diff.changed,
        diff=change.diff.render(),
    )


def _out(entity: Entity) -> EntityOut:
    return EntityOut(**entity.to_json())


def _detail(entity: Entity) -> EntityDetailOut:
    return EntityDetailOut(**entity.to_json(), yaml=entities.spec_yaml(entity.spec))
