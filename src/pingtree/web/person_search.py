"""A search for a person's leads by email or phone, as every leads page does it: the values
typed never stay in a URL (nor in a link, a pager or the history) past the one request that
sent them; they are swapped for their HMAC indexes (``person``)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from pingtree.api.lead_search import person_keys
from pingtree.flows.errors import InputError
from pingtree.web.site import PageError, Site

__all__ = ["person_search"]


def person_search(site: Site, request: Request, email: str | None, phone: str | None) -> Response:
    """A redirect to the same search with the email and phone asked replaced by their HMAC
    indexes; a 422 page naming a malformed one, never showing its value."""
    try:
        keys = person_keys(site.ports.vault, email=email, phone=phone)
    except InputError as error:
        details = [f"{e.loc[-1]}: {e.msg}" for e in error.errors]
        raise PageError(422, "Nothing was searched.", details) from None
    kept = [
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in ("email", "phone", "before") and value
    ]
    query = urlencode([*kept, *(("person", key) for key in keys)])
    return RedirectResponse(str(request.url.replace(query=query)), status_code=303)
