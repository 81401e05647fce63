"""Notes and contacts on buyers and suppliers (the guide's "CRM"): the admin API, and the
sections of a buyer's and a supplier's admin page, over real HTTP on a real database.

Staff read them; admins and operators write them; a party's own user never sees them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.api.market import Market, buyer, marketplace, order
from tests.web.conftest import PASSWORD
from tests.web.session import csrf_token, sign_in

NOTE = "Agreed a 5 % rebate over 1,000 leads a month (call of 23 Nov)."
LATER = "Rebate now 6 %: supersedes the note below."


@pytest.fixture
def crm(market: Market) -> Market:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"), name="Shield Ins")]))
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={"username": "bea", "role": "buyer", "password": PASSWORD, "buyer_id": "shield"},
    )
    assert made.status_code == 201, made.text
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={"username": "sam", "role": "supplier", "password": PASSWORD, "supplier_id": "acme"},
    )
    assert made.status_code == 201, made.text
    return market


@contextmanager
def signed_in(market: Market, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, username).status_code == 303
        yield http


@pytest.fixture
def operator(crm: Market) -> Iterator[httpx.Client]:
    with signed_in(crm, "otto") as http:
        yield http


# --- the admin API ------------------------------------------------------------------------------


def test_notes_are_kept_newest_first_and_never_edited(crm: Market) -> None:
    for party in ("buyers/shield", "suppliers/acme"):
        url = f"/api/v1/admin/{party}/notes"
        assert crm.http.get(url, headers=crm.admin).json() == []
        first = crm.http.post(url, json={"body": f"  {NOTE}  "}, headers=crm.admin)
        assert first.status_code == 201, first.text
        assert first.json()["body"] == NOTE  # trimmed
        assert first.json()["author"].startswith("key:")
        crm.clock.advance(minutes=1)
        assert crm.http.post(url, json={"body": LATER}, headers=crm.admin).status_code == 201
        notes = crm.http.get(url, headers=crm.admin).json()
        assert [n["body"] for n in notes] == [LATER, NOTE]
        assert notes[0]["party"] == party.replace("s/", ":", 1)
        # no route edits or removes a note
        note_url = f"{url}/{notes[0]['id']}"
        assert crm.http.put(note_url, json={"body": "x"}, headers=crm.admin).status_code in (
            404,
            405,
        )
        assert crm.http.delete(note_url, headers=crm.admin).status_code in (404, 405)
    # one party's notes are not another's
    assert len(crm.http.get("/api/v1/admin/buyers/shield/notes", headers=crm.admin).json()) == 2


def test_contacts_are_added_edited_and_removed(crm: Market) -> None:
    url = "/api/v1/admin/buyers/shield/contacts"
    made = crm.http.post(
        url,
        json={"name": "Rita Moreno", "role": "Head of acquisition", "email": "Rita@Shield.example"},
        headers=crm.admin,
    )
    assert made.status_code == 201, made.text
    contact = made.json()
    assert (contact["email"], contact["phone"], contact["party"]) == (
        "rita@shield.example",
        "",
        "buyer:shield",
    )
    crm.http.post(
        url, json={"name": "Al Bell", "phone": "+1 (305) 555-0100 ext 12"}, headers=crm.admin
    )
    assert [c["name"] for c in crm.http.get(url, headers=crm.admin).json()] == [
        "Al Bell",
        "Rita Moreno",
    ]
    edited = crm.http.put(
        f"{url}/{contact['id']}",
        json={"name": "Rita Moreno", "role": "VP acquisition", "notes": "prefers email"},
        headers=crm.admin,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["role"], edited.json()["email"], edited.json()["notes"]) == (
        "VP acquisition",
        "",
        "prefers email",
    )
    # the contact is the buyer's: not found under the supplier, nor once removed
    elsewhere = f"/api/v1/admin/suppliers/acme/contacts/{contact['id']}"
    assert crm.http.delete(elsewhere, headers=crm.admin).status_code == 404
    assert crm.http.delete(f"{url}/{contact['id']}", headers=crm.admin).status_code == 204
    assert crm.http.delete(f"{url}/{contact['id']}", headers=crm.admin).status_code == 404
    assert [c["name"] for c in crm.http.get(url, headers=crm.admin).json()] == ["Al Bell"]


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        ({"name": ""}, "name", "at least 1"),
        ({"name": "   "}, "name", "pattern"),
        ({"name": "Rita", "email": "rita@"}, "email", "pattern"),
        ({"name": "Rita", "phone": "call me maybe"}, "phone", "pattern"),
        ({"name": "R" * 201}, "name", "at most 200"),
        ({"name": "Rita\x00"}, "name", "NUL"),
    ],
)
def test_a_bad_contact_is_refused_naming_the_field(
    crm: Market, body: dict[str, str], loc: str, says: str
) -> None:
    answer = crm.http.post("/api/v1/admin/buyers/shield/contacts", json=body, headers=crm.admin)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"][-1] == loc, error
    assert says in error["msg"], error


def test_unknown_parties_are_not_found_and_only_admin_tokens_may_ask(crm: Market) -> None:
    for path in ("buyers/nobody/notes", "suppliers/nobody/contacts"):
        assert crm.http.get(f"/api/v1/admin/{path}", headers=crm.admin).status_code == 404
    blank = crm.http.post(
        "/api/v1/admin/buyers/shield/notes", json={"body": " "}, headers=crm.admin
    )
    assert blank.status_code == 422
    assert blank.json()["detail"][0]["loc"][-1] == "body"
    for method in ("GET", "POST"):
        url = "/api/v1/admin/buyers/shield/notes"
        answer = crm.http.request(method, url, json={"body": "x"}, headers=crm.seller())
        assert answer.status_code == 403
        assert crm.http.request(method, url, json={"body": "x"}).status_code == 401


# --- the pages ------------------------------------------------------------------------------------


def test_an_operator_keeps_notes_and_contacts_on_the_buyers_page(
    crm: Market, operator: httpx.Client
) -> None:
    page = operator.get("/ui/buyers/shield")
    assert page.status_code == 200
    assert "No note yet." in page.text
    token = csrf_token(page.text)
    added = operator.post("/ui/buyers/shield/notes", data={"csrf_token": token, "body": NOTE})
    assert added.status_code == 303
    assert added.headers["location"] == "/ui/buyers/shield?notice=note-added#notes"
    page = operator.get("/ui/buyers/shield?notice=note-added")
    assert "Note added." in page.text
    assert "Agreed a 5 % rebate" in page.text
    assert "otto" in page.text  # who wrote it

    contact = {"name": "Rita Moreno", "role": "Head of acquisition", "email": "rita@shield.example"}
    added = operator.post("/ui/buyers/shield/contacts", data={"csrf_token": token, **contact})
    assert added.status_code == 303
    (made,) = crm.http.get("/api/v1/admin/buyers/shield/contacts", headers=crm.admin).json()
    html = operator.get("/ui/buyers/shield").text
    assert "Head of acquisition" in html
    assert f'action="/ui/buyers/shield/contacts/{made["id"]}"' in html
    saved = operator.post(
        f"/ui/buyers/shield/contacts/{made['id']}",
        data={"csrf_token": token, **contact, "role": "VP acquisition"},
    )
    assert saved.status_code == 303
    assert "VP acquisition" in operator.get("/ui/buyers/shield").text
    refused = operator.post(
        f"/ui/buyers/shield/contacts/{made['id']}",
        data={"csrf_token": token, "name": "Rita", "email": "not an address"},
    )
    assert refused.status_code == 422
    assert "email: must be an email address" in refused.text
    removed = operator.post(
        f"/ui/buyers/shield/contacts/{made['id']}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    assert "No contact yet." in operator.get("/ui/buyers/shield").text

    # the supplier's page has the same sections, its own
    page = operator.get("/ui/suppliers/acme")
    assert "No note yet." in page.text
    operator.post("/ui/suppliers/acme/notes", data={"csrf_token": token, "body": LATER})
    html = operator.get("/ui/suppliers/acme").text
    assert "Rebate now 6 %" in html
    assert "Agreed a 5 % rebate" not in html


def test_a_form_without_its_token_is_refused(crm: Market, operator: httpx.Client) -> None:
    answer = operator.post("/ui/buyers/shield/notes", data={"body": NOTE})
    assert answer.status_code == 403
    assert crm.http.get("/api/v1/admin/buyers/shield/notes", headers=crm.admin).json() == []


def test_an_analyst_reads_them_and_parties_never_see_them(crm: Market) -> None:
    crm.http.post("/api/v1/admin/buyers/shield/notes", json={"body": NOTE}, headers=crm.admin)
    crm.http.post(
        "/api/v1/admin/buyers/shield/contacts", json={"name": "Rita Moreno"}, headers=crm.admin
    )
    with signed_in(crm, "ana") as analyst:
        page = analyst.get("/ui/buyers/shield")
        assert page.status_code == 200
        assert "Agreed a 5 % rebate" in page.text
        assert "Rita Moreno" in page.text
        assert 'action="/ui/buyers/shield/notes"' not in page.text  # no form to write
        token = csrf_token(page.text)
        refused = analyst.post("/ui/buyers/shield/notes", data={"csrf_token": token, "body": "x"})
        assert refused.status_code == 403
    for username in ("bea", "sam"):
        with signed_in(crm, username) as party:
            token = csrf_token(party.get("/ui/leads").text)
            for url in ("/ui/buyers/shield", "/ui/suppliers/acme"):
                answer = party.get(url)
                assert answer.status_code == 403, (username, url)
                assert "Rita Moreno" not in answer.text
            # nor its own pages
            for url in ("/ui/my-orders", "/ui/my-campaigns", "/ui/leads"):
                answer = party.get(url)
                assert "Agreed a 5 % rebate" not in answer.text
                assert "Rita Moreno" not in answer.text
            refused = party.post(
                "/ui/buyers/shield/notes", data={"csrf_token": token, "body": "mine"}
            )
            assert refused.status_code == 403
    assert len(crm.http.get("/api/v1/admin/buyers/shield/notes", headers=crm.admin).json()) == 1
