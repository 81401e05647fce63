"""Signing in and out, CSRF and roles, over plain HTTP."""

from __future__ import annotations

from tests.api.market import PING, Market, buyer, marketplace, order
from tests.web.session import csrf_token, sign_in


def test_pages_need_a_signed_in_person(market: Market) -> None:
    answer = market.http.get("/ui/leads", params={"status": "sold"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=%2Fui%2Fleads%3Fstatus%3Dsold"
    assert market.http.get("/").headers["location"] == "/ui"


def test_signing_in_sets_a_guarded_session_cookie(market: Market) -> None:
    answer = sign_in(market.http, "ada")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("pingtree_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; set on https
    page = market.http.get("/ui")
    assert page.status_code == 200
    assert "ada" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_wrong_password_or_name_gets_the_same_refusal(market: Market) -> None:
    wrong_password = sign_in(market.http, "ada", "not the password")
    wrong_name = sign_in(market.http, "nobody", "not the password")
    for answer in (wrong_password, wrong_name):
        assert answer.status_code == 401
        assert "Wrong username or password." in answer.text
        assert "pingtree_session" not in answer.headers.get("set-cookie", "")


def test_the_sign_in_form_refuses_a_post_without_its_own_token(market: Market) -> None:
    # login CSRF: another site posting its own credentials lacks the double-submit cookie
    forged = market.http.post(
        "/ui/login", data={"username": "ada", "password": "correct horse battery"}
    )
    assert forged.status_code == 403
    assert "pingtree_session" not in forged.headers.get("set-cookie", "")


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(market: Market) -> None:
    form = market.http.get("/ui/login", params={"next": "https://evil.example/ui"})
    answer = market.http.post(
        "/ui/login",
        data={
            "username": "ada",
            "password": "correct horse battery",
            "csrf_token": csrf_token(form.text),
            "next": "//evil.example/ui",
        },
    )
    assert answer.headers["location"] == "/ui"


def test_a_post_without_the_session_csrf_token_is_refused(market: Market) -> None:
    sign_in(market.http, "ada")
    refused = market.http.post("/ui/logout", data={})
    assert refused.status_code == 403
    assert "security token" in refused.text
    wrong = market.http.post("/ui/logout", data={"csrf_token": "guessed"})
    assert wrong.status_code == 403
    # still signed in; with the token, signing out works and ends the session
    page = market.http.get("/ui")
    assert page.status_code == 200
    signed_out = market.http.post("/ui/logout", data={"csrf_token": csrf_token(page.text)})
    assert signed_out.status_code == 303
    assert market.http.get("/ui").status_code == 303


def test_an_analyst_may_not_reveal_personal_data(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    lead_id = market.sell()["lead_id"]
    sign_in(market.http, "ana")
    page = market.http.get(f"/ui/leads/{lead_id}")
    assert page.status_code == 200
    assert "Reveal personal data" not in page.text
    assert "3055550142" not in page.text
    refused = market.http.post(
        f"/ui/leads/{lead_id}/reveal", data={"csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 403
    assert "3055550142" not in refused.text


def test_an_operator_reveals_personal_data_with_the_token(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    lead_id = market.sell()["lead_id"]
    sign_in(market.http, "otto")
    page = market.http.get(f"/ui/leads/{lead_id}")
    assert "3055550142" not in page.text
    revealed = market.http.post(
        f"/ui/leads/{lead_id}/reveal", data={"csrf_token": csrf_token(page.text)}
    )
    assert revealed.status_code == 200
    assert "3055550142" in revealed.text


def test_bad_filters_and_unknown_ids_are_4xx_pages(market: Market) -> None:
    sign_in(market.http, "ada")
    cases = {
        "/ui/leads?date_from=yesterday": (400, "date_from"),
        "/ui/leads?date_from=2026-11-24&date_to=2026-11-23": (400, "From date is after"),
        "/ui/leads?status=lost": (400, "status"),
        "/ui/pings?test=perhaps": (400, "test"),
        "/ui/attempts?kind=email": (400, "kind"),
        "/ui/leads/no-such-lead": (404, "No such lead."),
        "/ui/pings/no-such-ping": (404, "No such ping."),
    }
    for url, (status, words) in cases.items():
        answer = market.http.get(url)
        assert answer.status_code == status, url
        assert answer.headers["content-type"].startswith("text/html"), url
        assert words in answer.text, url


def test_lead_data_is_escaped_in_pages(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    lead_id = market.sell({**PING, "first_name": "<script>alert(1)</script>"})["lead_id"]
    sign_in(market.http, "ada")
    page = market.http.get(f"/ui/leads/{lead_id}")
    revealed = market.http.post(
        f"/ui/leads/{lead_id}/reveal", data={"csrf_token": csrf_token(page.text)}
    )
    assert "<script>alert(1)</script>" not in revealed.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in revealed.text


def test_the_stylesheet_is_served_and_nothing_else(market: Market) -> None:
    assert market.http.get("/ui/static/style.css").headers["content-type"].startswith("text/css")
    assert market.http.get("/ui/static/..%2Frouter.py").status_code == 404


def test_pages_are_not_in_the_api_document(market: Market) -> None:
    paths = market.http.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]
