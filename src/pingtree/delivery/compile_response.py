"""Compiling a step's response rules: what to read from a buyer's answer, and how to test it.

:func:`pingtree.delivery.spec.compile_delivery` hands a step's ``response`` here with the
:class:`~pingtree.delivery.compile_step.StepContext` that knows where to report issues.
"""

from __future__ import annotations

from decimal import Decimal

from pingtree.delivery.compile_step import StepContext
from pingtree.delivery.compiled import CompiledResponse
from pingtree.delivery.models import ResponseSpec, RuleSpec
from pingtree.delivery.rules import COMPARISONS, RULE_KINDS, CompiledRule, compile_re2
from pingtree.delivery.values import WireValue

__all__ = ["compile_response", "compile_rule"]

#: the rules that read a price: one for every leg, or a leg's own
_BID_KEYS = ("bid", "bid_exclusive", "bid_shared")


def compile_response(
    ctx: StepContext, spec: ResponseSpec | None, *, is_ping: bool, accept_only: bool = False
) -> CompiledResponse | None:
    """A step's response rules (``None`` after an issue); a ping must read a bid, unless
    it is ``accept_only`` (a fixed-price order's ping), which must not."""
    spec = spec or ResponseSpec()
    before = ctx.count
    accepted = _rules(ctx, spec.accepted, "accepted")
    rejected = _rules(ctx, spec.rejected, "rejected")
    values: dict[str, CompiledRule | None] = {}
    for key in ("bid", "bid_exclusive", "bid_shared", "token", "redirect_url", "reason"):
        rule_spec: RuleSpec | None = getattr(spec, key)
        values[key] = None
        if rule_spec is not None:
            values[key] = _rule(ctx, rule_spec, ctx.at("response", key), verdict=False)
    priced = [key for key in _BID_KEYS if getattr(spec, key) is not None]
    if accept_only and priced:
        ctx.issue(
            ctx.at("response", priced[0]),
            "a fixed-price order's price is its own: its ping reads accepted or rejected, "
            "a token and a reason, never a bid",
        )
    elif is_ping and not accept_only and not priced:
        ctx.issue(
            ctx.at("response", "bid"),
            "a ping step must read the buyer's bid (bid, bid_exclusive or bid_shared)",
        )
    if ctx.count > before:
        return None
    return CompiledResponse(accepted=accepted, rejected=rejected, **values)


def _rules(
    ctx: StepContext, spec: RuleSpec | list[RuleSpec] | None, key: str
) -> tuple[CompiledRule, ...] | None:
    if spec is None:
        return None
    if isinstance(spec, RuleSpec):
        items = [(ctx.at("response", key), spec)]
    else:
        if not spec:
            ctx.issue(ctx.at("response", key), "at least one rule")
        items = [(ctx.at("response", key, i), rule) for i, rule in enumerate(spec)]
    rules = [_rule(ctx, rule, path, verdict=True) for path, rule in items]
    return tuple(rule for rule in rules if rule is not None)


def compile_rule(
    ctx: StepContext, spec: RuleSpec, path: str, *, verdict: bool
) -> CompiledRule | None:
    """One rule at ``path`` (``None`` after an issue): a ``verdict`` rule must say what holds
    (equals, matches, present or a comparison); a value rule may not read a status code.
    The quality steps' named results are compiled here too (``delivery.checks``)."""
    return _rule(ctx, spec, path, verdict=verdict)


def _rule(ctx: StepContext, spec: RuleSpec, path: str, *, verdict: bool) -> CompiledRule | None:
    given = {
        kind: value
        for kind, value in (
            ("json", spec.json_),
            ("xpath", spec.xpath),
            ("regex", spec.regex),
            ("status", spec.status),
            ("header", spec.header),
        )
        if value is not None
    }
    if len(given) != 1:
        ctx.issue(path, "exactly one of " + ", ".join(RULE_KINDS) + " says what to read")
        return None
    ((kind, raw),) = given.items()
    ok = True
    try:
        reader = RULE_KINDS[kind](raw)
    except ValueError as exc:
        ctx.issue(f"{path}.{kind}", str(exc))
        ok = False
    if not verdict and kind == "status":
        ctx.issue(f"{path}.status", "a status code is not a value: use it in accepted/rejected")
        ok = False
    bounds = tuple((op, bound) for op in COMPARISONS if (bound := getattr(spec, op)) is not None)
    tested = (
        spec.equals is not None
        or spec.matches is not None
        or spec.present is not None
        or bool(bounds)
    )
    if verdict and kind != "status" and not tested:
        ctx.issue(path, "say what holds: equals, matches, present, gt, ge, lt or le")
        ok = False
    if spec.present is False and (spec.equals is not None or spec.matches is not None or bounds):
        ctx.issue(f"{path}.present", "present: false cannot be combined with other tests")
        ok = False
    if spec.equals is not None and not spec.equals:
        ctx.issue(f"{path}.equals", "at least one value")
        ok = False
    numbers: list[tuple[str, Decimal]] = []
    for op, bound in bounds:
        number = _bound(bound)
        if number is None:
            ctx.issue(f"{path}.{op}", 'a number to compare with (10, "10.50")')
            ok = False
        else:
            numbers.append((op, number))
    matches = None
    if spec.matches is not None:
        try:
            matches = compile_re2(spec.matches)
        except ValueError as exc:
            ctx.issue(f"{path}.matches", str(exc))
            ok = False
    if not ok:
        return None
    equals = None
    if spec.equals is not None:
        equals = frozenset(_equals_text(value) for value in spec.equals)
    return CompiledRule(
        reader=reader,
        equals=equals,
        matches=matches,
        present=spec.present,
        bounds=tuple(numbers),
    )


def _bound(value: WireValue) -> Decimal | None:
    """A comparison's bound: a number, or text that is a plain decimal number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value) if Decimal(value).is_finite() else None
    try:
        number = Decimal(value.strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() and "e" not in value.lower() else None


def _equals_text(value: WireValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value).strip().casefold()
