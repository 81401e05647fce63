"""The people who sign in, as the admin API and the UI's users page see them, and the
principal a UI session stands for. Managing users is for admins only.

A user's role and binding are checked against the live configuration: a ``supplier`` user
is bound to a supplier that exists, a ``buyer`` user to a buyer that exists. Disabling a
user, changing its role or resetting its password ends its sessions at once. A password
made here (a reset, or a create without one) is returned this once and never stored clear.
Bad input is an :class:`~pingtree.flows.errors.InputError` naming each field.
"""

from __future__ import annotations

import secrets
from typing import Any

from pingtree.api.scoping import open_section
from pingtree.domain.fields import FieldError
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import ROLES, Principal, valid_time_zone
from pingtree.store.tables import User
from pingtree.store.users import MIN_PASSWORD, UserExists, UserRepository, binding_problem

__all__ = [
    "ROLES",
    "change_user",
    "create_user",
    "party_choices",
    "reset_password",
    "session_principal",
    "set_disabled",
    "user_detail",
    "user_list",
]

_MAX_USERNAME = 100


async def session_principal(ports: Ports, token: str) -> Principal | None:
    """The principal a UI session cookie stands for, if it names a live session of an
    enabled user."""
    async with ports.sessions() as session:
        return await UserRepository(session).signed_in(token, ports.clock.now())


async def user_list(ports: Ports, principal: Principal) -> list[dict[str, Any]]:
    """Every user, by name: role, binding, time zone, enabled or not. Never a password."""
    open_section(principal, "users")
    async with ports.sessions() as session:
        users = await UserRepository(session).listing()
    return [_shown(u) for u in users]


def party_choices(ports: Ports, principal: Principal) -> dict[str, list[tuple[str, str]]]:
    """The suppliers and buyers of the live configuration a user may be bound to, as
    ``(id, name)`` pairs by id."""
    open_section(principal, "users")
    config = ports.snapshots.current().config
    return {
        "suppliers": sorted((s.id, s.name) for s in config.suppliers.values()),
        "buyers": sorted((b.id, b.name) for b in config.buyers.values()),
    }


async def user_detail(ports: Ports, principal: Principal, user_id: str) -> dict[str, Any]:
    open_section(principal, "users")
    async with ports.sessions() as session:
        return _shown(await _user(UserRepository(session), user_id))


async def create_user(
    ports: Ports,
    principal: Principal,
    *,
    username: str,
    role: str,
    password: str | None = None,
    supplier_id: str | None = None,
    buyer_id: str | None = None,
    time_zone: str = "UTC",
) -> dict[str, Any]:
    """A new user. Without ``password`` one is made and returned this once (``password``)."""
    open_section(principal, "users")
    supplier_id, buyer_id = supplier_id or None, buyer_id or None
    errors = _binding_errors(ports, role, supplier_id, buyer_id)
    errors += _time_zone_errors(time_zone)
    name = username.strip()
    if not name or len(name) > _MAX_USERNAME or any(not _name_char(c) for c in name):
        errors.append(
            FieldError(
                ("body", "username"),
                f"1 to {_MAX_USERNAME} printable characters, no spaces or colons",
                "value_error",
                username[:_MAX_USERNAME],
            )
        )
    if password is not None and len(password) < MIN_PASSWORD:
        errors.append(
            FieldError(
                ("body", "password"),
                f"a password needs at least {MIN_PASSWORD} characters",
                "value_error",
            )
        )
    if errors:
        raise InputError(errors)
    made = password is None
    password = password or _new_password()
    try:
        async with ports.sessions.begin() as session:
            user = await UserRepository(session).create(
                name,
                password,
                role,
                ports.clock.now(),
                supplier_id=supplier_id,
                buyer_id=buyer_id,
                time_zone=time_zone,
            )
            shown = _shown(user)
    except UserExists as exists:
        raise InputError(
            [FieldError(("body", "username"), str(exists), "user_exists", name)]
        ) from None
    return {**shown, "password": password} if made else shown


async def change_user(
    ports: Ports,
    principal: Principal,
    user_id: str,
    *,
    role: str,
    supplier_id: str | None = None,
    buyer_id: str | None = None,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """A user's new role and binding (and time zone). A changed role or binding ends the
    user's sessions: no page stays open on the old scope."""
    open_section(principal, "users")
    supplier_id, buyer_id = supplier_id or None, buyer_id or None
    errors = _binding_errors(ports, role, supplier_id, buyer_id)
    if time_zone is not None:
        errors += _time_zone_errors(time_zone)
    if errors:
        raise InputError(errors)
    async with ports.sessions.begin() as session:
        users = UserRepository(session)
        user = await _user(users, user_id)
        if (user.role, user.supplier_id, user.buyer_id) != (role, supplier_id, buyer_id):
            _own_role_check(principal, user, role)
            await users.set_role(user, role, supplier_id, buyer_id)
        if time_zone is not None:
            await users.set_time_zone(user, time_zone)
        return _shown(user)


async def set_disabled(
    ports: Ports, principal: Principal, user_id: str, *, disabled: bool
) -> dict[str, Any]:
    """Disable a user (its sessions end now) or enable it again."""
    open_section(principal, "users")
    async with ports.sessions.begin() as session:
        users = UserRepository(session)
        user = await _user(users, user_id)
        if disabled and user.id == principal.id and principal.kind == "user":
            raise InputError(
                [FieldError(("path", "user_id"), "you cannot disable yourself", "value_error")]
            )
        await users.set_disabled(user, disabled, ports.clock.now())
        return _shown(user)


async def reset_password(ports: Ports, principal: Principal, user_id: str) -> dict[str, Any]:
    """A new one-time password for the user, returned this once (``password``); its
    sessions end. The user signs in with it and the admin hands it over out of band."""
    open_section(principal, "users")
    async with ports.sessions.begin() as session:
        users = UserRepository(session)
        user = await _user(users, user_id)
        password = await users.reset_password(user)
        return {**_shown(user), "password": password}


async def _user(users: UserRepository, user_id: str) -> User:
    user = await users.by_id(user_id) if len(user_id) <= 36 else None
    if user is None:
        raise NotFound("no such user")
    return user


def _own_role_check(principal: Principal, user: User, role: str) -> None:
    if user.id == principal.id and principal.kind == "user" and role != user.role:
        raise InputError(
            [FieldError(("body", "role"), "you cannot change your own role", "value_error")]
        )


def _binding_errors(
    ports: Ports, role: str, supplier_id: str | None, buyer_id: str | None
) -> list[FieldError]:
    if role not in ROLES:
        return [
            FieldError(("body", "role"), f"must be one of {', '.join(ROLES)}", "enum", role[:50])
        ]
    problem = binding_problem(role, supplier_id, buyer_id)
    if problem:
        field = "buyer_id" if "buyer" in problem else "supplier_id"
        value = buyer_id if field == "buyer_id" else supplier_id
        return [FieldError(("body", field), problem, "value_error", value)]
    config = ports.snapshots.current().config
    if supplier_id is not None and supplier_id not in config.suppliers:
        return [
            FieldError(
                ("body", "supplier_id"), "no such supplier", "unknown_supplier", supplier_id[:64]
            )
        ]
    if buyer_id is not None and buyer_id not in config.buyers:
        return [FieldError(("body", "buyer_id"), "no such buyer", "unknown_buyer", buyer_id[:64])]
    return []


def _time_zone_errors(time_zone: str) -> list[FieldError]:
    if valid_time_zone(time_zone):
        return []
    return [
        FieldError(
            ("body", "time_zone"),
            "not an IANA time zone (e.g. UTC, America/New_York)",
            "value_error",
            time_zone[:64],
        )
    ]


def _name_char(char: str) -> bool:
    # no control character (PostgreSQL text cannot even hold NUL), no space, no colon
    return char.isprintable() and not char.isspace() and char != ":"


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _shown(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "supplier_id": user.supplier_id,
        "buyer_id": user.buyer_id,
        "time_zone": user.time_zone,
        "created_at": user.created_at,
        "disabled_at": user.disabled_at,
        "enabled": user.disabled_at is None,
    }
