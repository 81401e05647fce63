"""Compiling a vertical's or a campaign's quality steps (``config.vertical_spec.QualityStepSpec``)
into ``domain.quality_steps.QualityStep``, each checked against the vertical's fields; an
HTTP step's call is compiled by ``delivery.checks`` as a buyer's step is."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from pingtree.config.vertical_spec import QualityStepSpec
from pingtree.delivery.check_presets import PRESET_NAMES
from pingtree.delivery.checks import compile_check
from pingtree.domain.campaigns import Campaign
from pingtree.domain.quality import step_result_fields
from pingtree.domain.quality_steps import OnError, QualityStep, ResultKind, StepKind
from pingtree.domain.verticals import FieldSpec, FieldType, Vertical

__all__ = ["compile_steps", "with_step_results"]

#: the field types each step can read
_READS: dict[StepKind, frozenset[FieldType]] = {
    StepKind.PHONE: frozenset({FieldType.PHONE, FieldType.STRING}),
    StepKind.EMAIL: frozenset({FieldType.EMAIL, FieldType.STRING}),
    StepKind.SUPPRESSION: frozenset({FieldType.PHONE, FieldType.EMAIL}),
}
#: the keys only an HTTP step takes
_HTTP_KEYS = ("name", "preset", "on_error", "request", "inputs", "results", "error_when")

Issue = tuple[str, str, object]


def compile_steps(
    specs: Sequence[QualityStepSpec], fields: Sequence[FieldSpec], path: str
) -> tuple[tuple[QualityStep, ...], list[Issue]]:
    """The steps, and the problems found (``(path, message, value)``): an unknown field or
    one of a type the step cannot read, a step kind given twice (their results would
    overwrite each other; HTTP steps: a name given twice), a suppression step with no
    list, an HTTP step's keys on another kind, and every issue of an HTTP step's call."""
    by_name = {spec.name: spec for spec in fields}
    steps: list[QualityStep] = []
    issues: list[Issue] = []
    seen: set[StepKind] = set()
    names: set[str] = set()
    for k, spec in enumerate(specs):
        spath = f"{path}[{k}]"
        if spec.type is StepKind.HTTP:
            step = _http_step(spec, fields, spath, names, issues)
            if step is not None:
                steps.append(step)
            continue
        stray = [key for key in _HTTP_KEYS if getattr(spec, key) is not None]
        if stray:
            issues.append((f"{spath}.{stray[0]}", f"only an http step takes {stray[0]}", None))
            continue
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


def _http_step(
    spec: QualityStepSpec,
    fields: Sequence[FieldSpec],
    path: str,
    names: set[str],
    issues: list[Issue],
) -> QualityStep | None:
    """An HTTP step: its name (its own, else its preset's), its call compiled against the
    vertical's fields (PII allowed: the service is the operator's), its results' kinds."""
    for key in ("field", "lists"):
        if getattr(spec, key):
            issues.append((f"{path}.{key}", f"an http step does not take {key}", None))
            return None
    if spec.preset is not None and spec.preset not in PRESET_NAMES:
        known = ", ".join(sorted(PRESET_NAMES))
        issues.append((f"{path}.preset", f"unknown preset (known: {known})", spec.preset))
        return None
    name = spec.name or (PRESET_NAMES[spec.preset] if spec.preset else None)
    if name is None:
        issues.append((f"{path}.name", "an http step needs a name (its results' prefix)", None))
        return None
    if name in names:
        issues.append((f"{path}.name", "another http step has this name", name))
        return None
    names.add(name)
    raw = {
        key: value
        for key in ("request", "inputs", "results", "error_when")
        if (value := getattr(spec, key)) is not None
    }
    check, check_issues = compile_check(
        raw,
        spec.preset,
        pii_fields=frozenset(field.name for field in fields if field.pii),
        known_fields=frozenset(field.name for field in fields),
    )
    for where, msg in check_issues:
        issues.append((f"{path}.{where}", msg, None))
    if check is None:
        return None
    return QualityStep(
        StepKind.HTTP,
        on_fail=spec.on_fail,
        name=name,
        on_error=spec.on_error or OnError(str(spec.on_fail)),
        results=tuple((f"{name}.{r.key}", ResultKind(r.kind)) for r in check.results),
        call=check,
    )


def with_step_results(
    verticals: Mapping[str, Vertical], campaigns: Iterable[Campaign]
) -> tuple[dict[str, Vertical], list[Issue]]:
    """The verticals as orders' filters see them: each with the results of the HTTP steps
    of its own steps and of its campaigns' as fields (``trustedform.verified``), and the
    issues of a result name two steps give different kinds."""
    steps: dict[str, list[QualityStep]] = {vid: list(v.steps) for vid, v in verticals.items()}
    for campaign in campaigns:
        steps.setdefault(campaign.vertical_id, []).extend(campaign.steps)
    out: dict[str, Vertical] = {}
    issues: list[Issue] = []
    for vertical_id, vertical in verticals.items():
        fields, clashes = step_result_fields(steps.get(vertical_id, ()))
        for name, msg in clashes:
            issues.append((f"steps.results.{name}", f"{msg} of vertical {vertical_id}", name))
        out[vertical_id] = dataclasses.replace(vertical, fields=(*vertical.fields, *fields))
    return out, issues
