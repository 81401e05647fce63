"""The filter forms of the traffic pages, validated like any other input.

An HTML form sends every field, the blank ones as ``""``: blank means "any". Dates are whole
UTC days, both ends included. Each form turns into the keyword arguments of the matching
``api.admin_views`` function.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from pingtree.domain.throttle import SignInOutcome

__all__ = ["AttemptSearch", "LeadSearch", "PingSearch", "SignInSearch"]

_Id = Field(default=None, max_length=64)


class _Search(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    #: the last id of the previous page (keyset pagination)
    before: str | None = Field(default=None, max_length=36)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_any(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def filters(self) -> dict[str, Any]:
        return self.model_dump()


class LeadSearch(_Search):
    status: Literal["received", "pending", "sold", "unsold", "rejected", "returned"] | None = None
    campaign_id: str | None = _Id
    buyer_id: str | None = _Id
    test: bool | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: a person's email or phone as typed: the page swaps it for ``person`` (never kept)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    #: people's HMAC indexes (``api.lead_search``), as the page's links carry them
    person: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = []
    #: the lead's id or the seller's ``lead_ref``
    ref: str | None = Field(default=None, max_length=200)
    sub_id: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _dates_in_order(self) -> LeadSearch:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("the From date is after the To date")
        return self

    def filters(self) -> dict[str, Any]:
        found = self.model_dump(exclude={"date_from", "date_to", "email", "phone", "person"})
        found["persons"] = list(self.person)
        found["since"] = _midnight(self.date_from)
        found["until"] = _midnight(self.date_to + dt.timedelta(days=1) if self.date_to else None)
        return found


class PingSearch(_Search):
    status: Literal["accepted", "rejected"] | None = None
    campaign_id: str | None = _Id
    test: bool | None = None


class AttemptSearch(_Search):
    kind: Literal["ping", "post"] | None = None
    order_id: str | None = _Id
    buyer_id: str | None = _Id
    outcome: str | None = Field(default=None, max_length=24)


class SignInSearch(_Search):
    username: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=45)
    outcome: SignInOutcome | None = None


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), dt.UTC) if day else None
