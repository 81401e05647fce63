"""Notes and contacts on buyers and suppliers: the guide's "CRM", staff only.

A party is ``buyer:<id>`` or ``supplier:<id>`` (DESIGN §9). Notes are immutable and read
newest first; a correction is a new note. Contacts are business contacts (not consumers,
so not PII in the §8.5 sense), edited and removed in place. The repository keeps its
session and never commits: the view owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import uuid_utils
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import PartyContact, PartyNote

__all__ = ["ContactFields", "PartyNotesRepository"]

#: the most notes one party's page lists (the newest)
MAX_NOTES = 200


@dataclass(frozen=True, slots=True)
class ContactFields:
    """What a contact holds besides its party: every field but ``name`` may be blank."""

    name: str
    role: str = ""
    email: str = ""
    phone: str = ""
    notes: str = ""


class PartyNotesRepository:
    """Named queries over ``party_notes`` and ``party_contacts``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def notes(self, party: str, limit: int = MAX_NOTES) -> list[PartyNote]:
        """The party's notes, newest first (ties by id, which is time-ordered)."""
        query = (
            select(PartyNote)
            .where(PartyNote.party == party)
            .order_by(PartyNote.created_at.desc(), PartyNote.id.desc())
            .limit(limit)
        )
        return list((await self._session.scalars(query)).all())

    async def add_note(
        self, party: str, body: str, author: str, author_name: str, now: dt.datetime
    ) -> PartyNote:
        note = PartyNote(
            id=str(uuid_utils.uuid7()),
            party=party,
            body=body,
            author=author,
            author_name=author_name,
            created_at=now,
        )
        self._session.add(note)
        await self._session.flush()
        return note

    async def contacts(self, party: str) -> list[PartyContact]:
        """The party's contacts by name (then by when they were added)."""
        query = (
            select(PartyContact)
            .where(PartyContact.party == party)
            .order_by(PartyContact.name, PartyContact.id)
        )
        return list((await self._session.scalars(query)).all())

    async def contact(self, party: str, contact_id: str) -> PartyContact | None:
        """One of the party's contacts; ``None`` if it has none of that id."""
        query = select(PartyContact).where(
            PartyContact.party == party, PartyContact.id == contact_id
        )
        return (await self._session.scalars(query)).one_or_none()

    async def add_contact(
        self, party: str, fields: ContactFields, now: dt.datetime
    ) -> PartyContact:
        contact = PartyContact(
            id=str(uuid_utils.uuid7()),
            party=party,
            name=fields.name,
            role=fields.role,
            email=fields.email,
            phone=fields.phone,
            notes=fields.notes,
            created_at=now,
            updated_at=now,
        )
        self._session.add(contact)
        await self._session.flush()
        return contact

    async def update_contact(
        self, party: str, contact_id: str, fields: ContactFields, now: dt.datetime
    ) -> bool:
        """Replace the contact's fields; whether the party had such a contact."""
        changed = await self._session.execute(
            update(PartyContact)
            .where(PartyContact.party == party, PartyContact.id == contact_id)
            .values(
                name=fields.name,
                role=fields.role,
                email=fields.email,
                phone=fields.phone,
                notes=fields.notes,
                updated_at=now,
            )
        )
        return bool(getattr(changed, "rowcount", 0))

    async def remove_contact(self, party: str, contact_id: str) -> bool:
        """Remove the contact; whether the party had such a contact."""
        removed = await self._session.execute(
            delete(PartyContact).where(PartyContact.party == party, PartyContact.id == contact_id)
        )
        return bool(getattr(removed, "rowcount", 0))
