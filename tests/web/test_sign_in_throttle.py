"""Signing in is throttled per account and per address, and every try is recorded for
admins (issue 12): over plain HTTP against the real app, the clock frozen and moved by hand;
then two server processes over one database.

The test server trusts ``X-Forwarded-For`` from 127.0.0.1 (uvicorn's default proxy
setting), so a test stands for several client addresses by sending that header.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pingtree.store.tables import SignIn
from tests.api.conftest import SECRET, market_settings
from tests.api.market import Market
from tests.support.processes import free_port, server_env, start_server, stop_server
from tests.web.conftest import PASSWORD, create_people, in_thread
from tests.web.session import csrf_token

_ALERT = re.compile(r'role="alert">([^<]*)<')

WRONG = "not the password"
THROTTLED = "Too many failed sign-ins: wait"
LOCKED = "Too many failed sign-ins: this account is locked for 15 minutes."


def attempt(
    http: httpx.Client, username: str, password: str, address: str | None = None
) -> httpx.Response:
    """One try from the sign-in form, as a browser at ``address`` makes it (signed out)."""
    http.cookies.delete("pingtree_session")
    headers = {"X-Forwarded-For": address} if address else {}
    form = http.get("/ui/login", headers=headers)
    assert form.status_code == 200
    return http.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(form.text)},
        headers=headers,
    )


def sign_ins(market: Market, **params: str) -> list[dict[str, object]]:
    answer = market.http.get("/api/v1/admin/sign-ins", params=params, headers=market.admin)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_forty_wrong_passwords_then_the_right_one_is_refused(market: Market) -> None:
    answers = [attempt(market.http, "ada", WRONG) for _ in range(40)]
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    assert {a.status_code for a in answers[3:]} == {429}
    assert answers[3].headers["retry-after"] == "1"
    assert THROTTLED in answers[3].text

    right = attempt(market.http, "ada", PASSWORD)
    assert right.status_code == 429
    assert "pingtree_session" not in right.headers.get("set-cookie", "")
    assert market.http.get("/ui").status_code == 303  # not signed in

    # the tries past the third were refused before their password was checked
    outcomes = [row["outcome"] for row in reversed(sign_ins(market, username="ada", limit="100"))]
    assert outcomes == ["wrong_password"] * 3 + ["throttled"] * 38


def test_back_off_doubles_then_locks_the_account_and_a_success_resets_it(
    market: Market,
) -> None:
    for failure in range(1, 11):
        answer = attempt(market.http, "ada", WRONG)
        assert answer.status_code == 401, failure
        if failure < 3:
            continue
        refused = attempt(market.http, "ada", PASSWORD)
        assert refused.status_code == 429
        if failure < 10:  # 1, 2, 4 … 64 s after the 3rd … 9th failure
            wait = 2 ** (failure - 3)
            assert refused.headers["retry-after"] == str(wait)
            market.clock.advance(seconds=wait)
    # the 10th failure within 15 minutes locks the account for 15 minutes
    assert refused.headers["retry-after"] == "900"
    assert LOCKED in refused.text
    market.clock.advance(seconds=899)
    assert attempt(market.http, "ada", PASSWORD).status_code == 429

    market.clock.advance(seconds=1)
    assert attempt(market.http, "ada", PASSWORD).status_code == 303
    # the success cleared the account's failures: the next mistake is free again
    assert attempt(market.http, "ada", WRONG).status_code == 401
    assert attempt(market.http, "ada", PASSWORD).status_code == 303


def test_one_address_backs_off_across_usernames_and_others_are_not_held(market: Market) -> None:
    guesser, colleague = "203.0.113.7", "198.51.100.9"
    for i in range(10):
        assert attempt(market.http, f"user{i}", WRONG, guesser).status_code == 401
    # the address must wait now, whatever the name and even with the right password
    held = attempt(market.http, "ada", PASSWORD, guesser)
    assert held.status_code == 429
    assert held.headers["retry-after"] == "1"
    # ada's account has no failures: from another address she signs in
    assert attempt(market.http, "ada", PASSWORD, colleague).status_code == 303
    market.clock.advance(seconds=1)
    assert attempt(market.http, "ada", PASSWORD, guesser).status_code == 303

    rows = sign_ins(market, address=guesser)
    assert [r["outcome"] for r in rows] == ["success", "throttled"] + ["unknown_user"] * 10


def test_an_unknown_name_is_answered_and_throttled_as_a_known_one(market: Market) -> None:
    known = [attempt(market.http, "ada", WRONG, "192.0.2.1") for _ in range(5)]
    unknown = [attempt(market.http, "nobody", WRONG, "192.0.2.2") for _ in range(5)]
    for one, other in zip(known, unknown, strict=True):
        assert one.status_code == other.status_code
        assert one.headers.get("retry-after") == other.headers.get("retry-after")
        assert _message(one) == _message(other)
    assert [a.status_code for a in known] == [401, 401, 401, 429, 429]


def test_admins_see_every_sign_in_and_never_a_password(market: Market) -> None:
    attempt(market.http, "ada", WRONG, "192.0.2.10")
    attempt(market.http, "mallory", "hunter2 guess", "192.0.2.11")
    assert attempt(market.http, "ada", PASSWORD, "192.0.2.10").status_code == 303

    answer = market.http.get("/api/v1/admin/sign-ins", headers=market.admin)
    rows = answer.json()
    assert [(r["username"], r["address"], r["outcome"]) for r in rows] == [
        ("ada", "192.0.2.10", "success"),
        ("mallory", "192.0.2.11", "unknown_user"),
        ("ada", "192.0.2.10", "wrong_password"),
    ]
    assert rows[0]["user_id"] is not None
    assert rows[0]["user_id"] == rows[2]["user_id"]
    assert rows[1]["user_id"] is None
    assert set(rows[0]) == set(SignIn.__table__.columns.keys())
    for secret in (WRONG, "hunter2", PASSWORD):
        assert secret not in answer.text
    assert [r["username"] for r in sign_ins(market, outcome="unknown_user")] == ["mallory"]
    assert (
        market.http.get(
            "/api/v1/admin/sign-ins", params={"outcome": "guessed"}, headers=market.admin
        ).status_code
        == 422
    )
    assert market.http.get("/api/v1/admin/sign-ins").status_code == 401

    # the page: the admin's, with the same rows; nobody else's
    page = market.http.get("/ui/sign-ins", params={"username": "mallory"})
    assert page.status_code == 200
    assert "192.0.2.11" in page.text
    assert "192.0.2.10" not in page.text
    assert 'href="/ui/sign-ins"' in market.http.get("/ui").text
    for person in ("ana", "otto"):  # the analyst, the operator
        assert attempt(market.http, person, PASSWORD).status_code == 303
        refused = market.http.get("/ui/sign-ins")
        assert refused.status_code == 403
        assert "mallory" not in refused.text
        assert 'href="/ui/sign-ins"' not in market.http.get("/ui").text


# --- two server processes, one database ---------------------------------------------------


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two ``pingtree serve`` processes on one database (the backend the environment
    names), with a back-off long enough that no try here outlives it."""
    settings = in_thread(lambda: market_settings(tmp_path))
    create_people(settings)
    env = server_env(settings, SECRET, PINGTREE_SIGN_IN_BACKOFF_SECONDS="600")
    ports = free_port(), free_port()
    servers = [start_server(env, port, tmp_path / f"server-{port}.log") for port in ports]
    try:
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        for server in servers:
            stop_server(server)


def test_the_throttle_holds_across_two_servers_on_one_database(
    two_servers: tuple[str, str],
) -> None:
    # 24 wrong passwords at once, half to each server: exactly the 3 free failures are
    # checked, whichever server took them; the other 21 wait
    statuses = asyncio.run(_at_once(two_servers, "ada", WRONG, each=12))
    assert statuses == Counter({429: 21, 401: 3})
    for url in two_servers:
        with httpx.Client(base_url=url, timeout=30) as http:
            right = attempt(http, "ada", PASSWORD)
            assert right.status_code == 429
            assert 590 < int(right.headers["retry-after"]) <= 600
            # another account from the same address is not held
            assert attempt(http, "otto", PASSWORD).status_code == 303


async def _at_once(urls: tuple[str, str], username: str, password: str, each: int) -> Counter[int]:
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in urls]
    try:
        forms = [await client.get("/ui/login") for client in clients]
        posts = [
            client.post(
                "/ui/login",
                data={
                    "username": username,
                    "password": password,
                    "csrf_token": csrf_token(form.text),
                },
            )
            for client, form in zip(clients, forms, strict=True)
            for _ in range(each)
        ]
        return Counter(answer.status_code for answer in await asyncio.gather(*posts))
    finally:
        for client in clients:
            await client.aclose()


def _message(answer: httpx.Response) -> str:
    """The sign-in form's alert."""
    found = _ALERT.search(answer.text)
    assert found, answer.text
    return found.group(1)
