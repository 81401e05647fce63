"""Notes and contacts on buyers and suppliers (the guide's "CRM"), as the admin API and the
buyer's and supplier's admin pages show and change them.

Staff only: the operator's staff read them, admins and operators write them (an analyst
only looks); a supplier's or buyer's user never sees them, not even its own party's
(``api.scoping``'s ``crm`` section is no party's). A party is a buyer or a supplier of the
live configuration; another is not found. Notes are immutable; contacts are edited and
removed. Bad input is an :class:`~pingtree.flows.errors.InputError` naming each field.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pingtree.api.scoping import open_section
from pingtree.domain.fields import FieldError
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store.party_notes import ContactFields, PartyNotesRepository
from pingtree.store.tables import PartyContact, PartyNote

__all__ = [
    "CONTACT_LIMITS",
    "EMAIL_PATTERN",
    "MAX_NOTE",
    "NOT_BLANK",
    "PHONE_PATTERN",
    "PartyKind",
    "add_contact",
    "add_note",
    "contacts",
    "edit_contact",
    "may_write",
    "notes",
    "party_crm",
    "remove_contact",
]

PartyKind = Literal["buyer", "supplier"]
#: the longest note, in characters
MAX_NOTE = 10_000
#: each contact field's longest value; ``name`` is also required
CONTACT_LIMITS = {"name": 200, "role": 200, "email": 254, "phone": 50, "notes": 2_000}
#: what a business phone number may hold: digits, separators, a ``+``, an extension (the
#: API's schema says the same)
PHONE_PATTERN = r"^[0-9 ()+./xX#-]*(ext\.? ?[0-9]+)?$"
#: the spaces trimmed off every field: ASCII's only, which every regex flavour (the API's
#: schema in OpenAPI's, pydantic's and ours) reads alike
_SPACES = " \t\r\n\f\v"
#: an email address as a business contact has one: something, ``@``, a dotted domain (a
#: contact is no consumer: no deliverability or canonical spelling is asked)
EMAIL_PATTERN = r"^[^@ \t\r\n\f\v]+@[^@ \t\r\n\f\v]+\.[^@ \t\r\n\f\v]+$"
#: text with something besides spaces in it
NOT_BLANK = r"[^ \t\r\n\f\v]"
_PHONE = re.compile(PHONE_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)


def may_write(principal: Principal) -> bool:
    """Whether ``principal`` may add notes and change contacts (admins and operators)."""
    return principal.may_operate


async def party_crm(
    ports: Ports, principal: Principal, kind: PartyKind, party_id: str
) -> dict[str, Any]:
    """A party's notes (newest first) and contacts (by name), for its admin page."""
    return {
        "notes": await notes(ports, principal, kind, party_id),
        "contacts": await contacts(ports, principal, kind, party_id),
        "may_write_crm": may_write(principal),
    }


async def notes(
    ports: Ports, principal: Principal, kind: PartyKind, party_id: str
) -> list[dict[str, Any]]:
    """The party's notes, newest first."""
    party = _party(ports, principal, kind, party_id)
    async with ports.sessions() as session:
        found = await PartyNotesRepository(session).notes(party)
    return [_note(n) for n in found]


async def add_note(
    ports: Ports, principal: Principal, kind: PartyKind, party_id: str, body: str
) -> dict[str, Any]:
    """A new note on the party, by ``principal``, now."""
    party = _party(ports, principal, kind, party_id, write=True)
    text = body.strip(_SPACES)
    errors = _text_errors(("body",), text, MAX_NOTE, required=True)
    if errors:
        raise InputError(errors)
    async with ports.sessions.begin() as session:
        note = await PartyNotesRepository(session).add_note(
            party, text, principal.audit_name, principal.name, ports.clock.now()
        )
        return _note(note)


async def contacts(
    ports: Ports, principal: Principal, kind: PartyKind, party_id: str
) -> list[dict[str, Any]]:
    """The party's contacts, by name."""
    party = _party(ports, principal, kind, party_id)
    async with ports.sessions() as session:
        found = await PartyNotesRepository(session).contacts(party)
    return [_contact(c) for c in found]


async def add_contact(
    ports: Ports, principal: Principal, kind: PartyKind, party_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """A new contact of the party from ``fields`` (name, role, email, phone, notes)."""
    party = _party(ports, principal, kind, party_id, write=True)
    checked = contact_fields(fields)
    async with ports.sessions.begin() as session:
        made = await PartyNotesRepository(session).add_contact(party, checked, ports.clock.now())
        return _contact(made)


async def edit_contact(
    ports: Ports,
    principal: Principal,
    kind: PartyKind,
    party_id: str,
    contact_id: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """The contact with ``fields`` in place of its own; ``NotFound`` if the party has no
    such contact."""
    party = _party(ports, principal, kind, party_id, write=True)
    checked = contact_fields(fields)
    async with ports.sessions.begin() as session:
        repository = PartyNotesRepository(session)
        if not await repository.update_contact(party, contact_id, checked, ports.clock.now()):
            raise NotFound(f"no contact {contact_id!r} of {kind} {party_id!r}")
        changed = await repository.contact(party, contact_id)
        assert changed is not None  # updated in this transaction
        return _contact(changed)


async def remove_contact(
    ports: Ports, principal: Principal, kind: PartyKind, party_id: str, contact_id: str
) -> None:
    """Remove the contact; ``NotFound`` if the party has no such contact."""
    party = _party(ports, principal, kind, party_id, write=True)
    async with ports.sessions.begin() as session:
        if not await PartyNotesRepository(session).remove_contact(party, contact_id):
            raise NotFound(f"no contact {contact_id!r} of {kind} {party_id!r}")


def contact_fields(fields: dict[str, Any]) -> ContactFields:
    """A contact's fields from a form or a JSON body, trimmed and checked; an
    :class:`InputError` naming every field that is wrong."""
    values = {name: _text(fields.get(name)) for name in CONTACT_LIMITS}
    errors: list[FieldError] = []
    for name, limit in CONTACT_LIMITS.items():
        errors += _text_errors((name,), values[name], limit, required=name == "name")
    if values["email"] and not _EMAIL.match(values["email"]):
        errors.append(
            FieldError(("email",), "must be an email address", "invalid_email", values["email"])
        )
    values["email"] = values["email"].lower()
    if values["phone"] and not _PHONE.match(values["phone"]):
        errors.append(
            FieldError(
                ("phone",),
                "may hold only digits, spaces, + ( ) . - / and an extension",
                "invalid_phone",
                values["phone"],
            )
        )
    if errors:
        raise InputError(errors)
    return ContactFields(**values)


# --- helpers ---------------------------------------------------------------------------------


def _party(
    ports: Ports, principal: Principal, kind: PartyKind, party_id: str, *, write: bool = False
) -> str:
    """The party's ``buyer:<id>``/``supplier:<id>`` once ``principal`` may read (or
    ``write``) its notes and the party exists; :class:`Forbidden` or ``NotFound``."""
    open_section(principal, "crm")
    if not principal.is_staff:  # a party's user, whatever a section list says
        raise Forbidden(f"The {principal.role} role may not see notes and contacts.")
    if write and not may_write(principal):
        raise Forbidden(f"The {principal.role} role may not change notes and contacts.")
    config = ports.snapshots.current().config
    parties = config.buyers if kind == "buyer" else config.suppliers
    if party_id not in parties:
        raise NotFound(f"no {kind} {party_id!r}")
    return f"{kind}:{party_id}"


def _text(value: object) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text.strip(_SPACES)


def _text_errors(
    loc: tuple[str, ...], text: str, limit: int, *, required: bool
) -> list[FieldError]:
    if required and not text:
        return [FieldError(loc, "is required", "missing", None)]
    if len(text) > limit:
        return [FieldError(loc, f"must be at most {limit} characters", "too_long", None)]
    if "\x00" in text:  # PostgreSQL text cannot hold one
        return [FieldError(loc, "must not contain NUL characters", "invalid_characters", None)]
    return []


def _note(note: PartyNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "party": note.party,
        "body": note.body,
        "author": note.author,
        "author_name": note.author_name,
        "created_at": note.created_at,
    }


def _contact(contact: PartyContact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "party": contact.party,
        "name": contact.name,
        "role": contact.role,
        "email": contact.email,
        "phone": contact.phone,
        "notes": contact.notes,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }
