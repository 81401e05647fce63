"""Compiling a campaign's hosted forms (``CampaignSpec.forms``) against its vertical.

Checked here: unique form ids (in the campaign here, in the marketplace by
:func:`form_id_issues`, with the campaign's mode for the form's flow), either ``steps`` or
``fields``, fields that are the vertical's own (a tracking field is carried from the page
or filled by the form, never asked), each at most once, every field a post requires
present, ``frame_ancestors`` that are ``http(s)://host[:port]`` origins, and the
campaign's consent (:func:`compile_forms`). Each issue is ``(path, message, value)``
under the campaign's path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pingtree.config.form_spec import FormFieldSpec, FormSpec
from pingtree.config.supplier_spec import ConsentSpec, SupplierSpec
from pingtree.domain.consent import Evidence, normalize_text
from pingtree.domain.fields import TRACKING_FIELDS
from pingtree.domain.forms import FormField, FormStep, HostedForm
from pingtree.domain.verticals import Requirement, Vertical

__all__ = ["compile_forms", "form_id_issues"]

Issue = tuple[str, str, object]
_TRACKING = frozenset(spec.name for spec in TRACKING_FIELDS)
#: an origin a browser sends: scheme, host (a leading ``*.`` allowed), optional port
_ORIGIN = re.compile(r"^https?://(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")


def compile_forms(
    specs: Sequence[FormSpec],
    vertical: Vertical | None,
    campaign_id: str,
    path: str,
    consent: ConsentSpec | None = None,
) -> tuple[tuple[HostedForm, ...], list[Issue]]:
    """The campaign's forms, and every issue found (the forms are meaningless if any).

    With the campaign's ``consent``, a form shows its current text (its own ``consent``
    must be one of the current versions) and the evidence it cannot give is refused: a
    form gives the text, the time, the IP and the page, never a TrustedForm or Jornaya
    certificate (the form runs no script)."""
    issues: list[Issue] = []
    forms: list[HostedForm] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        fpath = f"{path}.forms[{i}]"
        if spec.id in seen:
            issues.append((f"{fpath}.id", "another form of the campaign has this id", spec.id))
        seen.add(spec.id)
        for j, origin in enumerate(spec.frame_ancestors):
            if not _ORIGIN.fullmatch(origin):
                issues.append(
                    (f"{fpath}.frame_ancestors[{j}]", "not an origin: https://host[:port]", origin)
                )
        if vertical is None:
            continue  # the campaign's vertical is reported where it is named
        steps = _steps(spec, vertical, fpath, issues)
        consent_text = _consent_text(spec, consent, fpath, issues)
        forms.append(
            HostedForm(
                id=spec.id,
                campaign_id=campaign_id,
                title=spec.title,
                steps=steps,
                intro=spec.intro,
                submit_label=spec.submit_label,
                consent_text=consent_text,
                thank_you=spec.thank_you,
                frame_ancestors=tuple(spec.frame_ancestors),
                flow=spec.flow,
                test=spec.test,
            )
        )
    return tuple(forms), issues


def form_id_issues(suppliers: Iterable[SupplierSpec]) -> list[Issue]:
    """A form id used by two campaigns (it is the form's URL), at its second path; a form
    of a campaign that takes no direct post (what a form sends)."""
    issues: list[Issue] = []
    seen: dict[str, str] = {}
    for i, supplier in enumerate(suppliers):
        for j, campaign in enumerate(supplier.campaigns):
            for flow in sorted({form.flow for form in campaign.forms} - set(campaign.modes)):
                issues.append(
                    (
                        f"suppliers[{i}].campaigns[{j}].modes",
                        f"a form's flow is {flow}: add {flow}",
                        campaign.modes,
                    )
                )
            for k, form in enumerate(campaign.forms):
                other = seen.setdefault(form.id, campaign.id)
                if other != campaign.id:
                    path = f"suppliers[{i}].campaigns[{j}].forms[{k}].id"
                    issues.append((path, f"campaign {other} has a form with this id", form.id))
    return issues


def _consent_text(
    spec: FormSpec, consent: ConsentSpec | None, path: str, issues: list[Issue]
) -> str:
    """The consent text the form shows: its own, else the campaign's current one."""
    if consent is None:
        return spec.consent
    if Evidence.CERTIFICATE in consent.require:
        issues.append(
            (
                path,
                "the campaign's consent requires a certificate, which a hosted form cannot "
                "give: leave certificate out of consent.require",
                None,
            )
        )
    current = [t.text for t in consent.texts if t.retired_at is None]
    if not spec.consent:
        return current[-1] if current else ""
    if consent.texts and normalize_text(spec.consent) not in {normalize_text(t) for t in current}:
        issues.append(
            (f"{path}.consent", "not a current version of the campaign's consent text", None)
        )
    return spec.consent


def _steps(
    spec: FormSpec, vertical: Vertical, path: str, issues: list[Issue]
) -> tuple[FormStep, ...]:
    if spec.steps and spec.fields:
        issues.append((path, "give steps or fields, not both", None))
    raw_steps = (
        [(f"{path}.steps[{i}]", step.title, step.fields) for i, step in enumerate(spec.steps)]
        if spec.steps
        else [(path, "", spec.fields)]
    )
    steps: list[FormStep] = []
    asked: set[str] = set()
    for spath, title, raw_fields in raw_steps:
        fields: list[FormField] = []
        for k, raw in enumerate(raw_fields):
            entry = FormFieldSpec(name=raw) if isinstance(raw, str) else raw
            at = f"{spath}.fields[{k}]"
            field = vertical.field(entry.name)
            if field is None or entry.name in _TRACKING:
                why = (
                    "a tracking field: carried from the page or filled by the form"
                    if entry.name in _TRACKING
                    else f"{vertical.id} has no such field"
                )
                issues.append((at, why, entry.name))
                continue
            if entry.name in asked:
                issues.append((at, "asked twice in the form", entry.name))
                continue
            asked.add(entry.name)
            required = entry.required
            if required is None:
                required = field.post is Requirement.REQUIRED
            fields.append(
                FormField(field, entry.label or field.label or entry.name, entry.help, required)
            )
        if not fields:
            issues.append((spath, "a form section needs a field", None))
        steps.append(FormStep(title, tuple(fields)))
    missing = [
        f.name
        for f in vertical.fields
        if f.post is Requirement.REQUIRED and f.name not in asked and f.name not in _TRACKING
    ]
    if missing:
        issues.append((path, f"a post requires {', '.join(missing)}: ask for it", missing))
    return tuple(steps)
