"""The API keys page over plain HTTP: a key made in the UI opens the seller API, is listed
with its last use, and stops when revoked; a rotated one at the end of its overlap. Analysts
see the list, never change it."""

from __future__ import annotations

import re

import httpx

from tests.api.market import PING, Market, buyer, marketplace, order
from tests.web.session import csrf_token, sign_in

_NEW_KEY = re.compile(r'<input type="text" id="new-key" readonly size="70" value="(pt_[^"]+)">')


def _signed_in(market: Market, username: str = "otto") -> httpx.Client:
    assert sign_in(market.http, username).status_code == 303
    return market.http


def _ping(market: Market, token: str) -> int:
    # no cookie: the seller API knows the key only
    with httpx.Client(base_url=market.http.base_url) as seller:
        answer = seller.post(
            "/api/v1/ping", json={"fields": PING}, headers={"Authorization": f"Bearer {token}"}
        )
    return answer.status_code


def _create(http: httpx.Client, name: str) -> tuple[str, str]:
    """Make a key in the UI: (its token, the answering page)."""
    page = http.get("/ui/keys")
    assert page.status_code == 200
    made = http.post(
        "/ui/keys",
        data={"campaign_id": "acme_auto", "name": name, "csrf_token": csrf_token(page.text)},
    )
    assert made.status_code == 200, made.text
    found = _NEW_KEY.search(made.text)
    assert found, "the new key is not shown"
    return found.group(1), made.text


def _row(html: str, key_id: str) -> str:
    start = html.index(f"<code>pt_{key_id}_…</code>")
    return html[start : html.index("</tr>", start)]


def test_an_operator_makes_a_key_that_works_and_revokes_it(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    http = _signed_in(market)
    assert 'href="/ui/keys?campaign_id=acme_auto"' in http.get("/ui/campaigns").text
    token, page = _create(http, "landing pages")
    key_id = token.split("_")[1]
    assert 'data-copy="new-key"' in page
    assert "/ui/static/copy.js" in page
    assert "never" in _row(page, key_id)  # not used yet

    assert _ping(market, token) == 200
    listed = http.get("/ui/keys", params={"campaign_id": "acme_auto"})
    assert "landing pages" in listed.text
    assert token not in listed.text  # shown once only
    row = _row(listed.text, key_id)
    assert "never" not in row
    assert "2026-11-23 15:00" in row

    revoked = http.post(
        f"/ui/keys/{key_id}/revoke",
        data={"campaign_id": "acme_auto", "csrf_token": csrf_token(listed.text)},
    )
    assert revoked.status_code == 303
    assert _ping(market, token) == 401  # at once, though the checker remembered it
    assert ">revoked<" in _row(http.get("/ui/keys").text, key_id)


def test_a_key_rotated_in_the_ui_keeps_working_for_the_hours_picked(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    http = _signed_in(market, "ada")
    old, page = _create(http, "site")
    assert _ping(market, old) == 200
    rotated = http.post(
        f"/ui/keys/{old.split('_')[1]}/rotate",
        data={"campaign_id": "acme_auto", "overlap_hours": "2", "csrf_token": csrf_token(page)},
    )
    assert rotated.status_code == 200, rotated.text
    found = _NEW_KEY.search(rotated.text)
    assert found
    assert found.group(1) != old
    assert "works until 2026-11-23 17:00" in rotated.text

    market.clock.advance(hours=1, minutes=59)
    assert _ping(market, old) == 200
    market.clock.advance(minutes=1)
    assert _ping(market, old) == 401
    assert _ping(market, found.group(1)) == 200


def test_an_analyst_sees_the_keys_but_cannot_make_one(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    token, _ = _create(_signed_in(market, "ada"), "kept")
    market.http.cookies.clear()
    http = _signed_in(market, "ana")
    page = http.get("/ui/keys")
    assert page.status_code == 200
    assert "kept" in page.text
    assert "Create key" not in page.text
    assert "Revoke" not in page.text
    refused = http.post(
        "/ui/keys",
        data={"campaign_id": "acme_auto", "name": "mine", "csrf_token": csrf_token(page.text)},
    )
    assert refused.status_code == 403
    assert _ping(market, token) == 200
