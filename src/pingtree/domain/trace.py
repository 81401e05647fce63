"""One line of an auction's trace: an order and what became of it (STYLE "Every
candidate ends with one outcome"). Stored compactly, one short list per candidate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingtree.domain.money import format_money
from pingtree.domain.outcomes import Outcome

__all__ = ["Candidate", "money_text"]

#: prices seen lately and their text: a trace formats the same few prices again and again
_TEXTS: dict[Decimal, str] = {}
_TEXTS_KEPT = 4096


def money_text(price: Decimal) -> str:
    """:func:`~pingtree.domain.money.format_money`, remembered for the prices seen lately."""
    text = _TEXTS.get(price)
    if text is None:
        if len(_TEXTS) >= _TEXTS_KEPT:
            _TEXTS.clear()
        text = _TEXTS[price] = format_money(price)
    return text


@dataclass(frozen=True, slots=True)
class Candidate:
    """One line of the trace: an order and what became of it."""

    order_id: str
    buyer_id: str
    outcome: Outcome
    reason: str = ""
    price: Decimal | None = None
    latency_ms: int | None = None

    def to_json(self) -> list[Any]:
        # compact: one short list per candidate (DESIGN §8.4 "Trace")
        price = money_text(self.price) if self.price is not None else None
        return [
            self.order_id,
            self.buyer_id,
            str(self.outcome),
            self.reason,
            price,
            self.latency_ms,
        ]

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> Candidate:
        order_id, buyer_id, outcome, reason, price, latency = row
        return cls(
            order_id,
            buyer_id,
            Outcome(outcome),
            reason,
            Decimal(price) if price is not None else None,
            latency,
        )
