"""Hosted lead-capture forms: a campaign's form, served by pingtree at ``/f/{form}``.

A form is built from its campaign's vertical: which fields, in what order, with what
labels and help, grouped in steps (sections of the page). What the consumer submits is a
direct post of the campaign; the form adds its consent certificate (the consent text shown,
the time, the IP, the user agent and the page) and the page's tracking values
(:data:`CARRIED_FIELDS`, from the page's URL).
"""

from __future__ import annotations

from dataclasses import dataclass

from pingtree.domain.verticals import FieldSpec, FieldType

__all__ = ["CARRIED_FIELDS", "CONSENT_FIELDS", "FormField", "FormStep", "HostedForm", "input_type"]

#: tracking values a form carries from its page's URL (hidden inputs)
CARRIED_FIELDS = (
    "sub_id",
    "sub_id2",
    "sub_id3",
    "click_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "source_url",
)
#: what the form itself fills in, never the consumer: its consent certificate
CONSENT_FIELDS = ("consent_text", "consent_at", "ip_address", "user_agent")


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: the vertical's field ``spec``, shown with ``label`` and ``help``."""

    spec: FieldSpec
    label: str
    help: str = ""
    required: bool = False

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class FormStep:
    """A section of the form, under its ``title``."""

    title: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True, slots=True)
class HostedForm:
    id: str
    campaign_id: str
    title: str
    steps: tuple[FormStep, ...]
    intro: str = ""
    submit_label: str = "Submit"
    #: shown by the submit button and sent as ``consent_text``; empty: no consent asked
    consent_text: str = ""
    thank_you: str = "Thank you. We have your request."
    #: origins that may show the form in a frame (CSP ``frame-ancestors``), besides our own
    frame_ancestors: tuple[str, ...] = ()
    #: ``direct_post``, or ``ping_post``: a ping of the non-PII answers, then the post
    flow: str = "direct_post"
    #: its leads are test leads (they reach test orders only)
    test: bool = False

    @property
    def fields(self) -> tuple[FormField, ...]:
        return tuple(f for step in self.steps for f in step.fields)


_INPUT_TYPES = {
    FieldType.EMAIL: "email",
    FieldType.PHONE: "tel",
    FieldType.INTEGER: "number",
    FieldType.DECIMAL: "number",
    FieldType.DATE: "date",
    FieldType.URL: "url",
}


def input_type(spec: FieldSpec) -> str:
    """The HTML input type of a field (``select`` for an enum, ``checkbox`` for a
    boolean), so a browser checks what it can before the server checks it all again."""
    if spec.type is FieldType.ENUM:
        return "select"
    if spec.type is FieldType.BOOLEAN:
        return "checkbox"
    return _INPUT_TYPES.get(spec.type, "text")
