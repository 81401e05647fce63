"""Invoices and payout statements as each principal may see them: the views the admin API,
the pages and the portals share (DESIGN §9; what a document holds: ``flows.invoicing``).

- the operator's staff see every party's drafts and issued documents; admins and operators
  issue them (an analyst reads only);
- a ``buyer`` principal sees its own invoices and its own draft, a ``supplier`` principal
  its own payout statements and draft; naming another party's, or opening another's by its
  number, is not found (404), as if it did not exist;
- anyone else (a campaign key) is refused (403).

A period is a calendar ``month`` (``2026-11``) or ``from`` and ``to`` (local dates, both
included), in the party's time zone (a buyer's ``timezone``; UTC for a supplier); neither
means last month. A document can be issued only for a period that has ended.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pingtree.domain.fields import FieldError
from pingtree.domain.invoices import Period
from pingtree.domain.report_days import local_midnight, time_zone
from pingtree.flows import invoicing
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.invoicing import AlreadyIssued, Party
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal

__all__ = [
    "AlreadyIssued",
    "PeriodAsked",
    "Source",
    "document",
    "documents",
    "draft",
    "issue",
    "parties",
    "party_of",
]

Source = Literal["query", "body"]
#: the longest period one document covers
_MAX_DAYS = 366
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_PARTY = re.compile(r"^(buyer|supplier):([A-Za-z0-9_.:-]{1,64})$")


class PeriodAsked:
    """A period as asked: ``month`` or ``first`` and ``last`` (the query's ``from``/``to``),
    checked against the party's zone by :meth:`period`."""

    def __init__(
        self,
        month: str | None = None,
        first: dt.date | None = None,
        last: dt.date | None = None,
        source: Source = "query",
    ) -> None:
        self.month = month
        self.first = first
        self.last = last
        self.source = source

    def period(self, zone_name: str, now: dt.datetime) -> Period:
        """The period in ``zone_name``; :class:`InputError` naming the field and why."""
        zone = time_zone(zone_name)
        if self.month is not None:
            if self.first is not None or self.last is not None:
                raise self.error("month", "give a month or from and to, not both", self.month)
            first, last = self._month()
        elif self.first is not None or self.last is not None:
            if self.first is None or self.last is None:
                missing = "from" if self.first is None else "to"
                raise self.error(missing, "from and to go together", None)
            first, last = self.first, self.last
            if last < first:
                raise self.error("to", "must not be before from", last.isoformat())
            if (last - first).days >= _MAX_DAYS:
                raise self.error("to", f"a period is {_MAX_DAYS} days at most", last.isoformat())
        else:
            this_month = now.astimezone(zone).date().replace(day=1)
            last = this_month - dt.timedelta(days=1)
            first = last.replace(day=1)
        return Period(
            first=first,
            last=last,
            start=local_midnight(first, zone),
            end=local_midnight(last + dt.timedelta(days=1), zone),
            zone=zone_name,
        )

    def _month(self) -> tuple[dt.date, dt.date]:
        found = _MONTH.match(self.month or "")
        year, month = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
        if not found or not 1 <= month <= 12 or year < 2000:
            raise self.error("month", "a month as YYYY-MM, such as 2026-11", self.month)
        first = dt.date(year, month, 1)
        after = dt.date(year + month // 12, month % 12 + 1, 1)
        return first, after - dt.timedelta(days=1)

    def error(self, name: str, message: str, value: object) -> InputError:
        """The input error of the field ``name`` (``month``, ``from``, ``to``)."""
        return InputError([FieldError((self.source, name), message, "invalid_period", value)])


def party_of(
    ports: Ports, principal: Principal, asked: str | None, source: Source = "query"
) -> Party:
    """The party a principal's request is about: a buyer's or supplier's principal its own
    (another party named is :class:`NotFound`); staff the party named ``buyer:<id>`` or
    ``supplier:<id>`` (required). Anyone else is :class:`Forbidden`."""
    own = principal.party
    if own is None and not principal.is_staff:
        raise Forbidden(f"The {principal.role} role has no invoices.")
    if asked is None or asked == "":
        if own is None:
            raise InputError(
                [FieldError((source, "party"), "name buyer:<id> or supplier:<id>", "missing")]
            )
        asked = own
    if own is not None and asked != own:
        raise NotFound("no such party")
    found = _PARTY.match(asked)
    if found is None:
        raise InputError(
            [FieldError((source, "party"), "buyer:<id> or supplier:<id>", "invalid", asked)]
        )
    kind, party_id = found.group(1), found.group(2)
    config = ports.snapshots.current().config
    if kind == "buyer":
        buyer = config.buyers.get(party_id)
        if buyer is None:
            raise NotFound("no such buyer")
        account_kind = None if buyer.account is None else buyer.account.kind.value
        return Party("buyer", buyer.id, buyer.name, zone=buyer.timezone, account_kind=account_kind)
    supplier = config.suppliers.get(party_id)
    if supplier is None:
        raise NotFound("no such supplier")
    return Party("supplier", supplier.id, supplier.name)


async def draft(
    ports: Ports, principal: Principal, party: str | None, asked: PeriodAsked
) -> dict[str, Any]:
    """The draft of the party's document for the period: what issuing it now would hold."""
    found = party_of(ports, principal, party, asked.source)
    period = asked.period(found.zone, ports.clock.now())
    return await invoicing.draft_document(ports, found, period)


async def issue(
    ports: Ports, principal: Principal, party: str | None, asked: PeriodAsked
) -> dict[str, Any]:
    """Issue the party's document for an ended period (admins and operators): numbered and
    fixed. :class:`AlreadyIssued` when the period starts before the end of its last one."""
    if not principal.may_operate:
        raise Forbidden(f"The {principal.role} role may not issue invoices.")
    found = party_of(ports, principal, party, asked.source)
    now = ports.clock.now()
    period = asked.period(found.zone, now)
    if period.end > now:
        name = "month" if asked.month is not None else "to"
        raise asked.error(name, "the period has not ended yet", period.last.isoformat())
    return await invoicing.issue_document(ports, found, period, principal.audit_name)


async def document(ports: Ports, principal: Principal, number: str) -> dict[str, Any]:
    """An issued document by its number, as issued: a party's own only."""
    own = principal.party
    if own is None and not principal.is_staff:
        raise Forbidden(f"The {principal.role} role has no invoices.")
    found = await invoicing.issued_document(ports, number) if len(number) <= 32 else None
    if found is None or (own is not None and found[0] != own):
        raise NotFound("no such invoice or statement")
    return found[1]


async def documents(
    ports: Ports, principal: Principal, party: str | None = None
) -> list[dict[str, Any]]:
    """Issued documents newest first: a party's own; staff's of every party, or of the one
    named."""
    if principal.party is not None or party:
        found = party_of(ports, principal, party)
        return await invoicing.issued_documents(ports, party=found.account)
    if not principal.is_staff:
        raise Forbidden(f"The {principal.role} role has no invoices.")
    return await invoicing.issued_documents(ports)


def parties(ports: Ports, principal: Principal) -> list[tuple[str, str]]:
    """The parties whose documents the principal may see, as ``(buyer:<id>, label)``: staff
    every buyer and supplier; a party itself."""
    config = ports.snapshots.current().config
    if principal.party is not None:
        found = party_of(ports, principal, None)
        return [(found.account, found.name)]
    if not principal.is_staff:
        raise Forbidden(f"The {principal.role} role has no invoices.")
    buyers = [(f"buyer:{b.id}", f"Buyer {b.name}") for b in config.buyers.values()]
    suppliers = [(f"supplier:{s.id}", f"Supplier {s.name}") for s in config.suppliers.values()]
    return sorted(buyers) + sorted(suppliers)
