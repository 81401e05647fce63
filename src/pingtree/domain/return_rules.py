"""When a return rule acts (DESIGN §9): a buyer's or a supplier's return rate over its
rule's limit pauses it or, for a buyer, ranks it lower. Pure: the store counts the sales
and returns, this decides."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pingtree.domain.parties import ReturnRule

__all__ = ["Breach", "breach"]


@dataclass(frozen=True, slots=True)
class Breach:
    """A rule acting: ``returned`` of ``sold`` live sales of its window were returned."""

    rule: ReturnRule
    sold: int
    returned: int

    @property
    def rate_percent(self) -> Decimal:
        return (Decimal(self.returned) * 100 / Decimal(self.sold)).quantize(Decimal("0.1"))

    def describe(self) -> str:
        """For the trace: ``return rate 35.0% over 30 days (limit 20%)``."""
        return (
            f"return rate {self.rate_percent}% over {self.rule.days} days"
            f" (limit {self.rule.max_rate_percent.normalize():f}%)"
        )


def breach(rule: ReturnRule, sold: int, returned: int) -> Breach | None:
    """The rule's verdict on ``returned`` of ``sold`` sales: acting once there are
    ``min_sales`` and the rate is over ``max_rate_percent``; else ``None``."""
    if sold < rule.min_sales or sold == 0:
        return None
    if Decimal(returned) * 100 <= rule.max_rate_percent * sold:
        return None
    return Breach(rule, sold, returned)
