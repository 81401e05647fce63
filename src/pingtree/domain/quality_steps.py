"""A campaign's quality steps before the auction, as configured (``domain.quality`` runs
them): phone validation, email validation, suppression lists and calls to outside
services (HTTP enrichment and verification), in the order given.

Kept apart from ``domain.quality`` so that ``domain.verticals`` and ``domain.campaigns``
(which carry their steps) need not import the checks' libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pingtree.domain.consent import ConsentPolicy

__all__ = ["OnError", "OnFail", "QualityStep", "ResultKind", "StepKind"]


class StepKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    SUPPRESSION = "suppression"
    #: a call to an outside service (TrustedForm, Jornaya, a fraud score…), configured like
    #: a buyer's delivery step (``delivery.checks``)
    HTTP = "http"
    #: the campaign's consent requirements (``domain.consent``): always its first step
    CONSENT = "consent"


class OnFail(StrEnum):
    """What a step that fails does with the lead."""

    #: the lead is rejected with the step's reason, before any buyer is asked
    REJECT = "reject"
    #: the lead goes on, the failure written in its trace (and its results, for filters)
    FLAG = "flag"


class OnError(StrEnum):
    """What an HTTP step does when its service gives no usable answer (a timeout, a 5xx,
    garbage, an oversized body, refused credentials): not the lead's fault."""

    REJECT = "reject"
    FLAG = "flag"
    #: the lead goes on as if the step had passed; the error is in its trace
    CONTINUE = "continue"


class ResultKind(StrEnum):
    """The type of an HTTP step's named result, as orders' filters see it."""

    BOOLEAN = "boolean"
    NUMBER = "number"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class QualityStep:
    kind: StepKind
    #: the lead field the step reads; a suppression step with none reads every phone and
    #: email field of the vertical
    field: str | None = None
    on_fail: OnFail = OnFail.REJECT
    #: a phone step: the region a number without a country code is read in
    region: str = "US"
    #: a suppression step: the lists it checks
    lists: tuple[str, ...] = ()
    #: an HTTP step: its name, under which its results land (``trustedform.verified``)
    name: str | None = None
    #: an HTTP step: what a service that gives no usable answer does to the lead
    on_error: OnError = OnError.REJECT
    #: an HTTP step: its results' full names (``trustedform.verified``) and kinds
    results: tuple[tuple[str, ResultKind], ...] = ()
    #: an HTTP step: the compiled call (``delivery.checks.CompiledCheck``), opaque here:
    #: the domain knows no delivery type
    call: object = None
    #: a consent step: what the campaign requires
    consent: ConsentPolicy | None = None

    @property
    def label(self) -> str:
        """The step's name in a trace: its kind, or an HTTP step's own name."""
        return self.name if self.kind is StepKind.HTTP and self.name else str(self.kind)
