"""Signing in over plain HTTP, as a browser does: the form's token, then the cookie."""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import PASSWORD

_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _HIDDEN.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(http: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Load the sign-in form (its cookie and token), then post it; the answer, unfollowed."""
    form = http.get("/ui/login")
    assert form.status_code == 200
    return http.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(form.text)},
    )
