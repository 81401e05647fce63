"""The YAML shape of a vertical (``verticals[]``): its fields, return reasons, disposition
codes and quality steps (a campaign's own steps take the same shape)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints

from pingtree.config.spec_types import FieldName, Label, Name, Number, Ref, Slug, Spec
from pingtree.domain.quality_steps import OnError, OnFail, StepKind
from pingtree.domain.verticals import FieldType, Requirement

__all__ = [
    "DispositionCodeSpec",
    "FieldSpecModel",
    "QualityStepSpec",
    "ReturnReasonSpec",
    "VerticalSpec",
]


class FieldSpecModel(Spec):
    name: FieldName
    type: FieldType
    label: Label = ""
    pii: bool = False
    ping: Requirement = Requirement.OPTIONAL
    post: Requirement = Requirement.OPTIONAL
    #: allowed values of an ``enum`` field
    values: list[Label] = []
    #: bounds of an ``integer`` or ``decimal`` field
    min: Number | None = None
    max: Number | None = None
    max_length: int = 255
    #: reports may group leads by this field's value (refused for a PII field)
    report_dimension: bool = False


class ReturnReasonSpec(Spec):
    code: Slug
    label: Label = ""
    #: a request with this reason is approved at once
    auto_approve: bool = False


class DispositionCodeSpec(Spec):
    """A code a buyer may report of a lead (``domain.dispositions``)."""

    code: Slug
    label: Label = ""
    contacted: bool = False
    #: a converted lead counts as contacted too
    converted: bool = False


class QualityStepSpec(Spec):
    """A quality step before the auction (``domain.quality_steps``)."""

    type: StepKind
    #: the lead field it reads (phone: ``phone``, email: ``email``; suppression: every
    #: phone and email field)
    field: Ref | None = None
    on_fail: OnFail = OnFail.REJECT
    #: phone: the region a number without ``+`` and a country code is read in
    region: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"
    #: suppression: the lists it checks
    lists: list[Slug] = []
    #: http: the step's name, its results' prefix (``trustedform`` → ``trustedform.verified``);
    #: a preset's step is named after it
    name: Slug | None = None
    #: http: a preset of ``delivery.check_presets`` the step extends
    preset: Slug | None = None
    #: http: what a service that gives no usable answer does; none: as ``on_fail``
    on_error: OnError | None = None
    #: http: the call, its inputs and named results (``delivery.checks`` checks them)
    request: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    results: dict[str, Any] | None = None
    error_when: Any = None


class VerticalSpec(Spec):
    id: Slug
    name: Name = ""
    fields: list[FieldSpecModel] = []
    #: what a buyer may report became of a lead; empty: the default codes
    dispositions: list[DispositionCodeSpec] = []
    #: why a buyer may return a lead of this vertical; empty: the default list
    return_reasons: list[ReturnReasonSpec] = []
    #: quality steps before the auction of its campaigns that name none of their own
    steps: list[QualityStepSpec] = []
