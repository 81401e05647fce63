"""The YAML shape of a campaign's hosted forms (``campaigns[].forms``)::

    forms:
      - id: acme_auto_quote            # served at /f/acme_auto_quote (unique in the marketplace)
        title: Compare auto insurance quotes
        intro: Three questions, then your quotes.
        steps:                         # sections of the page, in order
          - title: Your car
            fields:
              - zip
              - {name: age, label: Your age, help: "You must be 18 or over"}
          - title: How to reach you
            fields: [first_name, email, phone]
        # or, for one section: fields: [zip, age, first_name, email, phone]
        submit_label: Get my quotes
        consent: "By clicking Get my quotes, I agree to be contacted by ..."  # the text shown
        thank_you: Thanks! An agent will call you shortly.
        frame_ancestors: ["https://www.acme.example"]   # pages that may embed it
        flow: direct_post              # or ping_post: a ping of its non-PII answers, then the post
        test: false

Shapes only (:class:`FormSpec`); :mod:`pingtree.config.forms` checks them against the
campaign's vertical.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from pingtree.config.spec_types import Slug

__all__ = ["FormFieldSpec", "FormSpec", "FormStepSpec"]

_Short = Annotated[str, StringConstraints(max_length=200)]
_Text = Annotated[str, StringConstraints(max_length=4000)]
_Origin = Annotated[str, StringConstraints(max_length=253)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FormFieldSpec(_Shape):
    name: Annotated[str, StringConstraints(max_length=64)]
    #: default: the vertical's label for the field
    label: _Short | None = None
    help: _Short = ""
    #: default: required when the vertical requires it in a post
    required: bool | None = None


class FormStepSpec(_Shape):
    title: _Short = ""
    fields: list[FormFieldSpec | Annotated[str, StringConstraints(max_length=64)]]


class FormSpec(_Shape):
    id: Slug
    title: _Short
    intro: _Text = ""
    steps: list[FormStepSpec] = []
    #: one section without a title (instead of ``steps``)
    fields: list[FormFieldSpec | Annotated[str, StringConstraints(max_length=64)]] = []
    submit_label: _Short = "Submit"
    #: the consent text shown by the button and recorded with the lead
    consent: _Text = ""
    thank_you: _Text = "Thank you. We have your request."
    #: origins (``https://host[:port]``) whose pages may show the form in a frame
    frame_ancestors: list[_Origin] = []
    #: what a submission runs: a direct post, or a ping (its non-PII answers) then the post
    flow: Literal["direct_post", "ping_post"] = "direct_post"
    test: bool = False
