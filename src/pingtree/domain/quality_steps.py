"""A campaign's quality steps before the auction, as configured (``domain.quality`` runs
them): phone validation, email validation, suppression lists, in the order given.

Kept apart from ``domain.quality`` so that ``domain.model`` (campaigns and verticals carry
their steps) need not import the checks' libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["OnFail", "QualityStep", "StepKind"]


class StepKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    SUPPRESSION = "suppression"


class OnFail(StrEnum):
    """What a step that fails does with the lead."""

    #: the lead is rejected with the step's reason, before any buyer is asked
    REJECT = "reject"
    #: the lead goes on, the failure written in its trace (and its results, for filters)
    FLAG = "flag"


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
