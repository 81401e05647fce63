"""Buyers and suppliers as the domain sees them: a buyer's budget caps and money account,
and the return rule that pauses (or ranks lower) a party whose leads come back too often."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pingtree.domain.orders import Cap

__all__ = ["Account", "AccountKind", "Buyer", "ReturnRule", "ReturnRuleAction", "Supplier"]


class AccountKind(StrEnum):
    #: the buyer pays first: a sale must fit its balance
    PREPAID = "prepaid"
    #: the buyer is invoiced: a sale must fit its credit limit
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class Account:
    """A buyer's money account (DESIGN §9): the auction skips the buyer when a price would
    take its balance below ``-credit_limit_cents`` (0 for a prepaid buyer)."""

    kind: AccountKind
    credit_limit_cents: int = 0


class ReturnRuleAction(StrEnum):
    #: take no leads until the rate is back under the limit
    PAUSE = "pause"
    #: rank after others: ``demote_by`` added to each order's priority number
    DEMOTE = "demote"


@dataclass(frozen=True, slots=True)
class ReturnRule:
    """A buyer's or a supplier's return rate over ``max_rate_percent`` (approved returns ÷
    live sales sold in the last ``days``, once there are ``min_sales``) pauses it or, for a
    buyer, lowers its rank. The trace shows it on every order it touches."""

    max_rate_percent: Decimal
    min_sales: int = 20
    days: int = 30
    action: ReturnRuleAction = ReturnRuleAction.PAUSE
    demote_by: int = 100


@dataclass(frozen=True, slots=True)
class Buyer:
    id: str
    name: str
    active: bool = True
    #: budget caps over all the buyer's orders
    caps: tuple[Cap, ...] = ()
    timezone: str = "UTC"
    #: ``None``: the buyer's balance is not checked (it is invoiced without a limit)
    account: Account | None = None
    return_rule: ReturnRule | None = None


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    name: str
    active: bool = True
    #: pauses the supplier's campaigns while its leads' return rate is over the limit
    return_rule: ReturnRule | None = None
