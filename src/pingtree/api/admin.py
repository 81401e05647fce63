"""The admin REST API: configuration, keys, and the traffic with its auction traces.

Every route needs an admin token. "Why did buyer X not get this lead?" is answered by the
trace of the ping or lead: every candidate order with its outcome and reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from pingtree.api import admin_views as views
from pingtree.api import erasure_views as erasures
from pingtree.api import key_views, sign_in_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.body import read_bounded
from pingtree.api.problems import Problem
from pingtree.api.scoping import token_principal
from pingtree.config.apply import apply_config, export_config
from pingtree.config.errors import ConfigError
from pingtree.domain.throttle import SignInOutcome
from pingtree.flows.ports import Ports
from pingtree.flows.try_buyer import try_buyer
from pingtree.store.buyer_secrets import BuyerSecretRepository

__all__ = ["admin_router"]

_MAX_CONFIG_BYTES = 4 * 1024 * 1024

Limit = Annotated[int, Query(ge=1, le=500)]
#: an id of ours (a UUIDv7), as a page's ``before``
_ID_PATTERN = r"^[0-9a-fA-F-]{1,64}$"


def admin_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin", tags=["admin"], dependencies=[admin], responses=ADMIN_RESPONSES
    )

    @router.get("/config", response_class=PlainTextResponse)
    async def get_config() -> str:
        """The whole configuration as YAML (no secrets); applying it back changes nothing."""
        return await export_config(ports.sessions)

    @router.post("/config")
    async def put_config(
        request: Request, dry_run: bool = False, prune: bool = False
    ) -> dict[str, Any]:
        """Apply a YAML configuration atomically; ``dry_run`` only shows the changes."""
        raw = await read_bounded(request, _MAX_CONFIG_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(400, "the configuration is not valid UTF-8") from None
        try:
            diff = await apply_config(
                ports.sessions, text, ports.clock.now(), prune=prune, dry_run=dry_run
            )
        except ConfigError as error:
            raise Problem.from_errors(
                [(("body", issue.path), issue.msg, "config", issue.value) for issue in error.issues]
            ) from None
        if not dry_run:
            await ports.snapshots.refresh()
            await ports.announce_config()
        return {"dry_run": dry_run, "changed": diff.changed, "diff": diff.render()}

    @router.post("/campaigns/{campaign_id}/keys", status_code=201)
    async def create_campaign_key(
        campaign_id: str,
        body: KeyAsked | None = None,
        label: Annotated[str, Query(max_length=200)] = "",
        caller: Caller = admin,
    ) -> dict[str, Any]:
        """A new API key for a campaign, named ``name`` (or the older ``label`` query). The
        key (``api_key``) is shown this once; only its HMAC is kept."""
        name = body.name if body is not None else label
        return await key_views.create_key(ports, token_principal(caller), keys, campaign_id, name)

    @router.get("/campaigns/{campaign_id}/keys")
    async def list_campaign_keys(campaign_id: str, caller: Caller = admin) -> list[dict[str, Any]]:
        """The campaign's keys, revoked and expired ones too: id, name, ``state``, when
        created, last used (to the minute), expiring (a rotated key) or revoked. Never a
        secret."""
        return await key_views.key_list(ports, token_principal(caller), campaign_id=campaign_id)

    @router.post("/campaigns/{campaign_id}/keys/{key_id}/rotate", status_code=201)
    async def rotate_campaign_key(
        campaign_id: str, key_id: str, body: RotationAsked, caller: Caller = admin
    ) -> dict[str, Any]:
        """A new key replacing ``key_id`` (shown this once, ``api_key``); the old one keeps
        working for ``overlap_hours`` (``replaces.expires_at``), then stops."""
        return await key_views.rotate_key(
            ports, token_principal(caller), keys, campaign_id, key_id, body.overlap_hours
        )

    @router.delete("/campaigns/{campaign_id}/keys/{key_id}", status_code=204)
    async def revoke_campaign_key(campaign_id: str, key_id: str, caller: Caller = admin) -> None:
        """Revoke a key: it stops working now."""
        await key_views.revoke_key(ports, token_principal(caller), keys, campaign_id, key_id)

    @router.put("/secrets/{name}", status_code=204)
    async def set_secret(name: str, body: SecretValue) -> None:
        """Store a buyer credential, encrypted; delivery specs name it ``{secret: NAME}``.
        Running workers pick it up within a second. A value is never shown back."""
        try:
            async with ports.sessions.begin() as session:
                await BuyerSecretRepository(session).set(
                    name, body.value, ports.vault, ports.clock.now()
                )
        except ValueError as exc:
            raise Problem.from_errors([(("path", "name"), str(exc), "value_error", name)]) from None

    @router.get("/secrets")
    async def list_secrets() -> list[dict[str, Any]]:
        """The stored secrets' names and when each was set; never their values."""
        async with ports.sessions() as session:
            rows = await BuyerSecretRepository(session).listing()
        return [{"name": name, "updated_at": updated} for name, updated in rows]

    @router.post("/orders/{order_id}/test")
    async def try_buyer_route(
        order_id: str, fields: dict[str, Any] | None = None, post: bool = False
    ) -> list[dict[str, Any]]:
        """Send a sample ping to the order's endpoints (with ``post=true``, then a post, only
        after an accepted ping, with its token and the step's test marker): the exact
        requests, the raw answers, what the response rules read and whether each step was
        ``ok``. ``fields`` replace sample values."""
        return await try_buyer(
            ports.snapshots.current().config,
            order_id,
            fields or {},
            client=ports.http,
            resolve_secret=ports.resolve_secret,
            post=post,
        )

    @router.get("/pings")
    async def list_pings(
        limit: Limit = 50,
        campaign_id: str | None = None,
        status: str | None = None,
        test: bool | None = None,
        before: str | None = None,
        caller: Caller = admin,
    ) -> list[dict[str, Any]]:
        return await views.ping_list(
            ports,
            token_principal(caller),
            limit,
            campaign_id=campaign_id,
            status=status,
            test=test,
            before=before,
        )

    @router.get("/pings/{ping_id}")
    async def get_ping(ping_id: str, caller: Caller = admin) -> dict[str, Any]:
        """A ping with its auction: every candidate order's outcome, the ranking, the winners."""
        return await views.ping_trace(ports, token_principal(caller), ping_id)

    @router.get("/leads")
    async def list_leads(
        limit: Limit = 50,
        campaign_id: str | None = None,
        status: str | None = None,
        buyer_id: str | None = None,
        test: bool | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        before: str | None = None,
        caller: Caller = admin,
        email: str | None = None,
        phone: str | None = None,
        ref: Annotated[str | None, Query(max_length=200)] = None,
        sub_id: Annotated[str | None, Query(max_length=200)] = None,
    ) -> list[dict[str, Any]]:
        """Leads, newest first. ``buyer_id``: those sold to that buyer; ``since``/``until``:
        the creation time (UTC unless given), ``until`` excluded. ``email``, ``phone``: one
        person's live leads, in any spelling intake accepts, found by the value's HMAC
        (never by decrypting; test leads are not found this way); ``ref``: the lead's id or
        the seller's ``lead_ref``; ``sub_id``: the seller's ``sub_id``."""
        return await views.lead_list(
            ports,
            token_principal(caller),
            limit,
            campaign_id=campaign_id,
            status=status,
            buyer_id=buyer_id,
            test=test,
            since=since,
            until=until,
            before=before,
            email=email,
            phone=phone,
            ref=ref,
            sub_id=sub_id,
        )

    @router.get("/leads/{lead_id}")
    async def get_lead(
        lead_id: str, reveal: bool = False, caller: Caller = admin
    ) -> dict[str, Any]:
        """A lead, its sales and its trace. PII is masked unless ``reveal``; every reveal
        is recorded (``GET /audit/pii-reveals``)."""
        return await views.lead_trace(ports, token_principal(caller), lead_id, reveal=reveal)

    @router.get("/audit/pii-reveals")
    async def pii_reveals(
        limit: Limit = 50,
        lead_id: str | None = None,
        before: str | None = None,
        caller: Caller = admin,
    ) -> list[dict[str, Any]]:
        """Who saw which lead's personal data, and when: people in the UI (``user:<id>``)
        and admin tokens (``key:<id>``), newest first."""
        return await views.reveal_list(
            ports, token_principal(caller), limit, lead_id=lead_id, before=before
        )

    @router.get("/sign-ins")
    async def list_sign_ins(
        limit: Limit = 50,
        username: Annotated[str | None, Query(max_length=100)] = None,
        address: Annotated[str | None, Query(max_length=45)] = None,
        outcome: SignInOutcome | None = None,
        before: str | None = None,
        caller: Caller = admin,
    ) -> list[dict[str, Any]]:
        """Tries to sign in to the UI, newest first: the username as typed, the user it
        named (if any), the client's address and the outcome (``throttled`` and ``locked``
        were refused without checking the password). Never the password."""
        return await sign_in_views.sign_in_list(
            ports,
            token_principal(caller),
            limit,
            username=username,
            address=address,
            outcome=outcome,
            before=before,
        )

    @router.get("/attempts")
    async def list_attempts(
        limit: Limit = 50,
        order_id: str | None = None,
        buyer_id: str | None = None,
        outcome: str | None = None,
        kind: str | None = None,
        before: str | None = None,
        caller: Caller = admin,
    ) -> list[dict[str, Any]]:
        """The delivery log: outbound pings and posts, newest first."""
        return await views.attempt_list(
            ports,
            token_principal(caller),
            limit,
            order_id=order_id,
            buyer_id=buyer_id,
            outcome=outcome,
            kind=kind,
            before=before,
        )

    @router.get("/set-aside")
    async def list_set_aside(
        limit: Limit = 50,
        writer: str | None = None,
        before: str | None = None,
        caller: Caller = admin,
    ) -> dict[str, Any]:
        """Rows a background writer could not store (``ping-writer``, ``attempt-log``),
        newest first, each with its values and the database's error; ``counts`` per
        writer. They were kept aside so the rows behind them were written."""
        return await views.set_aside_list(
            ports, token_principal(caller), limit, writer=writer, before=before
        )

    @router.get("/sales")
    async def list_sales(
        limit: Limit = 50,
        buyer_id: str | None = None,
        before: str | None = None,
        caller: Caller = admin,
    ) -> list[dict[str, Any]]:
        return await views.sale_list(
            ports, token_principal(caller), limit, buyer_id=buyer_id, before=before
        )

    @router.post("/erasures", status_code=201)
    async def erase_person(body: ErasureAsked, caller: Caller = admin) -> dict[str, Any]:
        """Erase one person's PII everywhere it lives, found by ``email`` or ``phone`` (any
        spelling intake accepts), or one lead's by ``lead_id``: exactly one. The money stays
        (leads, sales, reports); the erasure is recorded (``GET /erasures``) with the HMAC
        of what was asked, never its value."""
        return await erasures.erase(
            ports,
            token_principal(caller),
            email=body.email,
            phone=body.phone,
            lead_id=body.lead_id,
        )

    @router.get("/erasures")
    async def list_erasures(
        limit: Limit = 50,
        before: Annotated[str | None, Query(pattern=_ID_PATTERN)] = None,
        caller: Caller = admin,
    ) -> list[dict[str, Any]]:
        """Who erased whom and when, newest first: the HMAC of the email or phone asked, or
        the lead id, or a retention run's cutoff; how many leads lost their PII."""
        return await erasures.erasure_list(ports, token_principal(caller), limit, before=before)

    return router


class KeyAsked(BaseModel):
    name: str = Field(default="", max_length=200)


class RotationAsked(BaseModel):
    #: how long the old key keeps working next to the new one
    overlap_hours: int = Field(default=24, ge=0, le=key_views.MAX_OVERLAP_HOURS)


class SecretValue(BaseModel):
    value: str = Field(min_length=1, max_length=4096)


class ErasureAsked(BaseModel):
    """Whom to erase: exactly one of these."""

    email: str | None = Field(default=None, min_length=1, max_length=320)
    phone: str | None = Field(default=None, min_length=1, max_length=64)
    lead_id: str | None = Field(default=None, min_length=1, max_length=64)
