"""Compiling a return rule (``return_rule:`` of a supplier or a buyer,
``domain.return_rules``)."""

from __future__ import annotations

from pingtree.config.errors import Issues
from pingtree.config.spec_types import ReturnRuleSpec
from pingtree.domain.parties import ReturnRule

__all__ = ["compile_return_rule"]


def compile_return_rule(
    spec: ReturnRuleSpec | None, path: str, issues: Issues
) -> ReturnRule | None:
    """The rule ``spec`` describes (``None`` for none); a rate outside 0-100 is an issue."""
    if spec is None:
        return None
    if not 0 <= spec.max_rate <= 100:
        issues.add(f"{path}.max_rate", "must be a percentage, from 0 to 100", spec.max_rate)
    return ReturnRule(spec.max_rate, spec.min_sales, spec.days, spec.action, spec.demote_by)
