"""Compiling a vertical's or a campaign's quality steps (``config.schema.QualityStepSpec``)
into ``domain.quality_steps.QualityStep``, each checked against the vertical's fields."""

from __future__ import annotations

from collections.abc import Sequence

from pingtree.config.schema import QualityStepSpec
from pingtree.domain.model import FieldSpec, FieldType
from pingtree.domain.quality_steps import QualityStep, StepKind

__all__ = ["compile_steps"]

#: the field types each step can read
_READS: dict[StepKind, frozenset[FieldType]] = {
    StepKind.PHONE: frozenset({FieldType.PHONE, FieldType.STRING}),
    StepKind.EMAIL: frozenset({FieldType.EMAIL, FieldType.STRING}),
    StepKind.SUPPRESSION: frozenset({FieldType.PHONE, FieldType.EMAIL}),
}

Issue = tuple[str, str, object]


def compile_steps(
    specs: Sequence[QualityStepSpec], fields: Sequence[FieldSpec], path: str
) -> tuple[tuple[QualityStep, ...], list[Issue]]:
    """The steps, and the problems found (``(path, message, value)``): an unknown field or
    one of a type the step cannot read, a step kind given twice (their results would
    overwrite each other), a suppression step with no list."""
    by_name = {spec.name: spec for spec in fields}
    steps: list[QualityStep] = []
    issues: list[Issue] = []
    seen: set[StepKind] = set()
    for k, spec in enumerate(specs):
        spath = f"{path}[{k}]"
        if spec.type in seen:
            issues.append((f"{spath}.type", "one step of each type per campaign", str(spec.type)))
            continue
        seen.add(spec.type)
        name = spec.field
        if name is None and spec.type is not StepKind.SUPPRESSION:
            name = str(spec.type)  # the field named like the step: phone, email
        if name is not None:
            field = by_name.get(name)
            if field is None:
                issues.append((f"{spath}.field", "unknown field of the vertical", name))
                continue
            if field.type not in _READS[spec.type]:
                kinds = ", ".join(sorted(_READS[spec.type]))
                issues.append((f"{spath}.field", f"a {spec.type} step reads {kinds} fields", name))
                continue
        if spec.type is StepKind.SUPPRESSION and not spec.lists:
            issues.append((f"{spath}.lists", "a suppression step needs at least one list", None))
            continue
        steps.append(QualityStep(spec.type, name, spec.on_fail, spec.region, tuple(spec.lists)))
    return tuple(steps), issues
