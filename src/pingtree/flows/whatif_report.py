"""The what-if report (``flows.whatif``): leads won and the money of them before and
after, per campaign, buyer and order, and the pings that changed hands with why and both
traces."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pingtree.domain.auction import split_payout
from pingtree.domain.money import format_money
from pingtree.domain.trace import Candidate
from pingtree.flows.replay import Replayed

__all__ = ["CHANGES_KEPT", "Tally", "WhatIf", "money_of", "summary_lines"]

#: the sides a pending sale counts on, by its side number (2: the same on both)
_SIDE_NAMES = (("before",), ("after",), ("before", "after"))
_BOTH = 2

#: the pings that changed hands kept with both traces (the rest are counted only)
CHANGES_KEPT = 1000
_ZERO = Decimal(0)


@dataclass
class Tally:
    """Leads won and the money of them, on one side of the comparison."""

    won: int = 0
    revenue: Decimal = _ZERO
    payout: Decimal = _ZERO

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.payout

    def to_json(self) -> dict[str, Any]:
        return {
            "won": self.won,
            "revenue": format_money(self.revenue),
            "payout": format_money(self.payout),
            "profit": format_money(self.profit),
        }


@dataclass
class _Sides:
    before: Tally = field(default_factory=Tally)
    after: Tally = field(default_factory=Tally)

    def to_json(self, key: str) -> dict[str, Any]:
        b, a = self.before, self.after
        return {
            "id": key,
            "before": b.to_json(),
            "after": a.to_json(),
            "difference": {
                "won": a.won - b.won,
                "revenue": format_money(a.revenue - b.revenue),
                "payout": format_money(a.payout - b.payout),
                "profit": format_money(a.profit - b.profit),
            },
        }


@dataclass
class WhatIf:
    """The comparison of one replay (see the module)."""

    since: dt.datetime
    until: dt.datetime
    base_version: int
    pings: int = 0
    changed: int = 0
    #: pings refused before any buyer on either side (not comparable by auction)
    refused: int = 0
    #: bid orders asked with no stored answer (new in the draft, or not met originally)
    unknown_bids: int = 0
    #: bid orders answered by an assumed bid (the draft's ``replay.assumed_bids``)
    assumed_bids: int = 0
    #: auctions run (two a ping at most; the rest told without running, ``flows.replay_skip``)
    auctions: int = 0
    elapsed_ms: int = 0
    #: pings counted by their stored money alone, of verticals the draft leaves alone
    #: (``flows.replay_told.StoredOutcomes.told``; not in the report's JSON)
    money_only: int = 0
    total: _Sides = field(default_factory=_Sides)
    campaigns: defaultdict[str, _Sides] = field(default_factory=lambda: defaultdict(_Sides))
    buyers: defaultdict[str, _Sides] = field(default_factory=lambda: defaultdict(_Sides))
    orders: defaultdict[str, _Sides] = field(default_factory=lambda: defaultdict(_Sides))
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: a ping to drill down into, changed or not, and what became of it (both traces)
    focus: str | None = None
    focused: dict[str, Any] | None = None
    #: how many of the pings that changed hands are kept with both traces
    changes_kept: int = CHANGES_KEPT
    #: sales added and not yet in the tallies (:meth:`settle`): how many pings made each,
    #: by side (0 before, 1 after, 2 both), campaign, winners and payout
    _pending: Counter[tuple[int, str, tuple[tuple[str, str, Decimal], ...], Decimal]] = field(
        default_factory=Counter, init=False, repr=False, compare=False
    )

    def kept(self, before: Replayed, after: Replayed) -> bool:
        """Whether :meth:`add` would keep this ping with both traces (the focus, or a
        change while the report keeps more)."""
        if before.ping_id == self.focus:
            return True
        return (
            before is not after
            and len(self.changes) < self.changes_kept
            and money_of(before) != money_of(after)
        )

    def add(self, before: Replayed, after: Replayed) -> bool:
        """Count one ping replayed on both sides; whether it changed hands."""
        self.pings += 1
        if before.result is None or after.result is None:
            self.refused += 1
        self.unknown_bids += len(after.unknown)
        self.assumed_bids += len(after.assumed)
        if before is after:  # told the same on both sides
            self._count(_BOTH, before)
            changed = False
        else:
            self._count(0, before)
            self._count(1, after)
            changed = money_of(before) != money_of(after)
        if changed:
            self.changed += 1
            if len(self.changes) < self.changes_kept:
                self.changes.append(_change(before, after))
        if before.ping_id == self.focus:
            self.focused = {**_change(before, after), "changed": changed}
        return changed

    def add_told(
        self, campaign_id: str, winners: tuple[tuple[str, str, Decimal], ...], payout: Decimal
    ) -> None:
        """Count one ping whose replay is the same on both sides, by its money alone
        (``winners`` as ``Replayed.winners``, empty when not accepted): what :meth:`add`
        counts of a replay told the same on both sides that neither changed hands nor is
        focused."""
        self.pings += 1
        self.money_only += 1
        if winners:
            self._pending[(_BOTH, campaign_id, winners, payout)] += 1

    def _count(self, side: int, replayed: Replayed) -> None:
        winners = replayed.winners
        if winners and replayed.result is not None:
            payout = replayed.result.decision.payout
            self._pending[(side, replayed.campaign_id, winners, payout)] += 1

    def settle(self) -> WhatIf:
        """Count the pings added into the tallies (a week's pings win the same few
        prices: each sale is counted once however many pings made it)."""
        for (side, campaign_id, winners, payout), pings in self._pending.items():
            names = _SIDE_NAMES[side]
            revenue = sum((price for _, _, price in winners), _ZERO)
            for tally in (self.total, self.campaigns[campaign_id]):
                for name in names:
                    one = getattr(tally, name)
                    one.won += pings
                    one.revenue += revenue * pings
                    one.payout += payout * pings
            shares = (
                [payout] if len(winners) == 1 else split_payout(payout, [p for _, _, p in winners])
            )
            for (order_id, buyer_id, price), share in zip(winners, shares, strict=True):
                for tally in (self.buyers[buyer_id], self.orders[order_id]):
                    for name in names:
                        one = getattr(tally, name)
                        one.won += pings
                        one.revenue += price * pings
                        one.payout += share * pings
        self._pending.clear()
        return self

    def change(self, ping_id: str) -> dict[str, Any] | None:
        return next((c for c in self.changes if c["ping_id"] == ping_id), None)

    def to_json(self, *, traces: bool = False) -> dict[str, Any]:
        def table(sides: dict[str, _Sides]) -> list[dict[str, Any]]:
            return [sides[key].to_json(key) for key in sorted(sides)]

        self.settle()
        changes = self.changes if traces else [_without_traces(c) for c in self.changes]
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "base_version": self.base_version,
            "pings": self.pings,
            "changed": self.changed,
            "refused": self.refused,
            "unknown_bids": self.unknown_bids,
            "assumed_bids": self.assumed_bids,
            "auctions": self.auctions,
            "elapsed_ms": self.elapsed_ms,
            "total": self.total.to_json("total"),
            "campaigns": table(self.campaigns),
            "buyers": table(self.buyers),
            "orders": table(self.orders),
            "changes": changes,
        }


def money_of(replayed: Replayed) -> tuple[Any, ...]:
    decision = replayed.result.decision if replayed.result else None
    return (
        replayed.winners,
        decision.payout if decision and decision.accepted else _ZERO,
    )


def _side(replayed: Replayed) -> dict[str, Any]:
    decision = replayed.result.decision if replayed.result else None
    accepted = replayed.accepted
    return {
        "accepted": accepted,
        "winners": [
            {"order_id": o, "buyer_id": b, "price": format_money(p)} for o, b, p in replayed.winners
        ],
        "revenue": format_money(decision.revenue if decision and accepted else _ZERO),
        "payout": format_money(decision.payout if decision and accepted else _ZERO),
        "reasons": list(replayed.reasons),
    }


def _change(before: Replayed, after: Replayed) -> dict[str, Any]:
    return {
        "ping_id": before.ping_id,
        "campaign_id": before.campaign_id,
        "at": before.at.isoformat(),
        "before": _side(before),
        "after": _side(after),
        "why": _why(before, after),
        "trace_before": _trace(before),
        "trace_after": _trace(after),
    }


def _trace(replayed: Replayed) -> dict[str, Any] | None:
    """The replayed auction as a stored trace reads (its lines named, as the API gives a
    ping's)."""
    if replayed.result is None:
        return None
    trace = replayed.result.to_json()
    for part, keys in (("candidates", _LINE_KEYS), ("ranking", _QUOTE_KEYS)):
        trace[part] = [dict(zip(keys, row, strict=True)) for row in trace[part]]
    return trace


_LINE_KEYS = ("order_id", "buyer_id", "outcome", "reason", "price", "latency_ms")
_QUOTE_KEYS = ("order_id", "buyer_id", "leg", "price", "priority", "weight")


def _without_traces(change: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in change.items() if not k.startswith("trace_")}


def _lines(replayed: Replayed) -> dict[str, Candidate]:
    return {c.order_id: c for c in replayed.result.candidates} if replayed.result else {}


def _describe(line: Candidate | None) -> str:
    if line is None:
        return "absent"
    price = f" {format_money(line.price)}" if line.price is not None else ""
    reason = f" ({line.reason})" if line.reason else ""
    return f"{line.outcome}{price}{reason}"


def _why(before: Replayed, after: Replayed) -> list[str]:
    """The rules that changed the outcome: the trace lines that differ, the winners'
    first, then the ping options that now refuse (or no longer refuse) it."""
    old, new = _lines(before), _lines(after)
    winners = [o for o, _, _ in before.winners] + [o for o, _, _ in after.winners]
    others = sorted(set(old) | set(new))
    said: list[str] = []
    for order_id in dict.fromkeys([*winners, *others]):
        a, b = old.get(order_id), new.get(order_id)
        if _describe(a) != _describe(b):
            said.append(f"order {order_id}: {_describe(a)} → {_describe(b)}")
    if before.reasons != after.reasons:
        said.append(
            f"ping options: {', '.join(before.reasons) or 'accepted'} → "
            f"{', '.join(after.reasons) or 'accepted'}"
        )
    if not said:
        said.append("the ranking's draw among equals (same lines, new ranking)")
    return said


def summary_lines(report: WhatIf, limit: int = 20) -> Iterable[str]:
    """The report as a few lines of text (the command line, apply's dry run)."""
    data = report.to_json()
    total = data["total"]
    yield (
        f"replayed {report.pings} pings from {data['since']} to {data['until']} "
        f"in {report.elapsed_ms} ms: {report.changed} change hands"
        + (f", {report.unknown_bids} bids unknown" if report.unknown_bids else "")
        + (f", {report.assumed_bids} bids assumed" if report.assumed_bids else "")
    )
    for key in ("won", "revenue", "payout", "profit"):
        yield (
            f"  {key:8} {total['before'][key]:>12} → {total['after'][key]:>12}"
            f"  ({total['difference'][key]})"
        )
    for kind in ("campaigns", "buyers", "orders"):
        moved = [row for row in data[kind] if row["before"] != row["after"]]
        if moved:
            yield f"{kind} that change:"
            for row in moved:
                d = row["difference"]
                yield (
                    f"  {row['id']}: won {d['won']:+d}, revenue {d['revenue']}, "
                    f"payout {d['payout']}, profit {d['profit']}"
                )
    for change in data["changes"][:limit]:
        before = ",".join(w["order_id"] for w in change["before"]["winners"]) or "unsold"
        after = ",".join(w["order_id"] for w in change["after"]["winners"]) or "unsold"
        yield f"ping {change['ping_id']}: {before} → {after}; " + "; ".join(change["why"])
    if report.changed > limit:
        yield f"… and {report.changed - limit} more"
