"""Compiling a vertical (``verticals[]``): its fields (the tracking fields every vertical
inherits added), its return reasons and its quality steps, each checked at its YAML path;
and the reference other entities make to a vertical by id."""

from __future__ import annotations

from collections.abc import Mapping

from pingtree.config.errors import Issues
from pingtree.config.quality import compile_steps
from pingtree.config.vertical_spec import VerticalSpec
from pingtree.domain.fields import with_tracking_fields
from pingtree.domain.verticals import (
    DEFAULT_RETURN_REASONS,
    FieldSpec,
    FieldType,
    Requirement,
    ReturnReason,
    Vertical,
)

__all__ = ["compile_vertical", "vertical_ref"]


def compile_vertical(spec: VerticalSpec, path: str, issues: Issues) -> Vertical:
    """The vertical ``spec`` describes, its problems added to ``issues`` under ``path`` (a
    field in error is left out; its dispositions are ``config.dispositions``' work)."""
    tracking = {tracked.name for tracked in with_tracking_fields(())}
    fields: list[FieldSpec] = []
    seen: dict[str, str] = {}
    for j, field_spec in enumerate(spec.fields):
        fpath = f"{path}.fields[{j}]"
        name = field_spec.name
        if name in tracking:
            issues.add(
                f"{fpath}.name", "is a tracking field every vertical inherits; remove it", name
            )
            continue
        if name in seen:
            issues.add(f"{fpath}.name", f"duplicate field name (first at {seen[name]})", name)
            continue
        seen[name] = fpath
        kind = field_spec.type
        if kind is FieldType.ENUM and not field_spec.values:
            issues.add(f"{fpath}.values", "an enum field needs a list of values")
        if kind is not FieldType.ENUM and field_spec.values:
            issues.add(f"{fpath}.values", "only an enum field takes values", field_spec.values)
        folded = [value.casefold() for value in field_spec.values]
        for k, value in enumerate(field_spec.values):
            if folded.index(value.casefold()) != k:
                issues.add(f"{fpath}.values[{k}]", "duplicate value", value)
        numeric = kind in (FieldType.INTEGER, FieldType.DECIMAL)
        for bound in ("min", "max"):
            bound_value = getattr(field_spec, bound)
            if bound_value is not None and not numeric:
                issues.add(f"{fpath}.{bound}", "only integer and decimal fields take min and max")
        low, high = field_spec.min, field_spec.max
        if low is not None and high is not None and low > high:
            issues.add(f"{fpath}.max", f"must not be less than min ({low})", high)
        if field_spec.max_length < 1:
            issues.add(f"{fpath}.max_length", "must be at least 1", field_spec.max_length)
        if field_spec.pii and field_spec.ping is Requirement.REQUIRED:
            issues.add(
                f"{fpath}.ping", "a PII field never travels in a ping; it cannot be required there"
            )
        if field_spec.pii and field_spec.report_dimension:
            issues.add(
                f"{fpath}.report_dimension",
                "a PII field cannot be a report dimension: reports show its values",
            )
        fields.append(
            FieldSpec(
                name=name,
                type=kind,
                pii=field_spec.pii,
                ping=field_spec.ping,
                post=field_spec.post,
                label=field_spec.label,
                values=tuple(field_spec.values),
                min=low,
                max=high,
                max_length=field_spec.max_length,
                report_dimension=field_spec.report_dimension,
            )
        )
    try:
        all_fields = with_tracking_fields(fields)
    except ValueError as exc:  # the checks above should have caught it
        issues.add(f"{path}.fields", str(exc))
        all_fields = tuple(fields)
    reasons: list[ReturnReason] = []
    for j, reason in enumerate(spec.return_reasons):
        if any(seen.code == reason.code for seen in reasons):
            issues.add(f"{path}.return_reasons[{j}].code", "duplicate reason", reason.code)
            continue
        label = reason.label or reason.code.replace("_", " ").capitalize()
        reasons.append(ReturnReason(reason.code, label, reason.auto_approve))
    steps, step_issues = compile_steps(spec.steps, all_fields, f"{path}.steps")
    for issue in step_issues:
        issues.add(*issue)
    return Vertical(
        id=spec.id,
        name=spec.name or spec.id,
        fields=all_fields,
        return_reasons=tuple(reasons) or DEFAULT_RETURN_REASONS,
        steps=steps,
    )


def vertical_ref(
    name: str, path: str, verticals: Mapping[str, Vertical], issues: Issues
) -> Vertical | None:
    """The vertical an entity at ``path`` names; ``None``, with an issue, if none is."""
    vertical = verticals.get(name)
    if vertical is None:
        issues.add(f"{path}.vertical", f"unknown vertical {name!r}", name)
    return vertical
