"""Money an operator moves by hand: a buyer's top-up (a payment received), and an
adjustment of a buyer's or a supplier's account (a credit, a correction, a payment made
to an affiliate), each a new ledger entry with who and why (DESIGN §9).

A buyer's account counter moves with its entry, in the same transaction
(:func:`pingtree.store.accounts.credit_account`), so the auction sees a top-up at once.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.caps import CapCharge, account_charge
from pingtree.domain.fields import FieldError
from pingtree.domain.money import to_cents
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ports import Ports
from pingtree.store.accounts import credit_account
from pingtree.store.ledger import (
    EntryKind,
    LedgerRepository,
    buyer_account,
    new_entry,
    supplier_account,
)
from pingtree.store.tables import LedgerEntry

__all__ = ["MAX_AMOUNT", "adjust", "forget_account", "top_up"]

#: the largest amount one entry by hand may move: a typo's guard (ten million)
MAX_AMOUNT = Decimal("10000000.00")
#: the longest reason an operator may give
MAX_NOTE = 500


async def top_up(
    ports: Ports, principal: str, buyer_id: str, amount: Decimal, note: str
) -> LedgerEntry:
    """Credit ``buyer_id`` with ``amount`` (more than zero) received: a ``topup`` entry.

    Raises ``NotFound`` for an unknown buyer, ``InputError`` for an amount that is not
    positive whole cents or a note too long."""
    _check_buyer(ports, buyer_id)
    cents = _cents(amount, positive=True)
    entry = new_entry(
        EntryKind.TOPUP,
        buyer_account(buyer_id),
        cents,
        ports.clock.now(),
        principal=principal,
        note=_note(note, required=False),
    )
    await _record(ports, entry, buyer_id)
    return entry


async def adjust(
    ports: Ports, principal: str, party: str, party_id: str, amount: Decimal, note: str
) -> LedgerEntry:
    """Move ``amount`` (either sign, not zero) into the account of ``party`` (``buyer`` or
    ``supplier``) ``party_id``, with the reason ``note`` (required): an ``adjustment``.

    Raises ``NotFound`` for an unknown party, ``InputError`` for a bad amount or note."""
    if party == "buyer":
        _check_buyer(ports, party_id)
        account = buyer_account(party_id)
    elif party == "supplier":
        if party_id not in ports.snapshots.current().config.suppliers:
            raise NotFound(f"no supplier {party_id!r}")
        account = supplier_account(party_id)
    else:
        raise InputError([FieldError(("party",), "must be buyer or supplier", "enum", party)])
    entry = new_entry(
        EntryKind.ADJUSTMENT,
        account,
        _cents(amount, positive=False),
        ports.clock.now(),
        principal=principal,
        note=_note(note, required=True),
    )
    await _record(ports, entry, party_id if party == "buyer" else None)
    return entry


async def forget_account(ports: Ports, buyer_id: str) -> None:
    """After a commit that moved ``buyer_id``'s account counter: the Redis cache reads it
    from the database again (a no-op on the embedded cap ledger), and this process's view
    of which orders have room is refreshed now rather than within the second (the other
    processes see it at their next refresh)."""
    buyer = ports.snapshots.current().config.buyers.get(buyer_id)
    if buyer is not None and buyer.account is not None:
        charge: CapCharge = account_charge(buyer, Decimal("0.00"))
        await ports.caps.after_refund([charge])
        await ports.cap_room.refresh()


async def _record(ports: Ports, entry: LedgerEntry, buyer_id: str | None) -> None:
    """Write ``entry`` and move ``buyer_id``'s account counter with it, in one transaction."""

    async def work(session: AsyncSession) -> None:
        if buyer_id is not None:
            await credit_account(session, buyer_id, entry.amount_cents)
        await LedgerRepository(session).add([entry])

    await ports.transactions.run(work)
    if buyer_id is not None:
        await forget_account(ports, buyer_id)


def _check_buyer(ports: Ports, buyer_id: str) -> None:
    if buyer_id not in ports.snapshots.current().config.buyers:
        raise NotFound(f"no buyer {buyer_id!r}")


def _cents(amount: Decimal, *, positive: bool) -> int:
    problem = None
    if not amount.is_finite():
        problem = "must be a number"
    elif amount != amount.quantize(Decimal("0.01")):
        problem = "must be whole cents"
    elif positive and amount <= 0:
        problem = "must be more than zero"
    elif amount == 0:
        problem = "must not be zero"
    elif abs(amount) > MAX_AMOUNT:
        problem = f"must not exceed {MAX_AMOUNT} (one entry at a time)"
    if problem is not None:
        raise InputError([FieldError(("amount",), problem, "value_error", str(amount))])
    return to_cents(amount)


def _note(note: str, *, required: bool) -> str:
    note = note.strip()
    if required and not note:
        raise InputError([FieldError(("note",), "say why: it is kept with the entry", "missing")])
    if len(note) > MAX_NOTE:
        raise InputError(
            [FieldError(("note",), f"at most {MAX_NOTE} characters", "string_too_long")]
        )
    return note
