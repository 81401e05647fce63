"""Scope is data, tested by walking (DESIGN §9): every principal opens every route of the app.

Two suppliers each sell leads to two buyers through a real market (mock buyers on loopback).
Then each principal, people signed in to the UI (admin, operator, analyst, a supplier's user,
a buyer's user) and API tokens (an admin token, a campaign key), opens every route the app
has (``app.routes``), its path parameters filled with the real ids of each supplier and
buyer in turn. No answer may hold what the principal must not see:

- a supplier's user: the other supplier's names and campaigns, any buyer's name, order or
  price, any margin, the other supplier's leads and pings;
- a buyer's user: the other buyer's name, orders and price, the leads only the other buyer
  bought, what suppliers were paid, margins, the suppliers' names;
- an analyst: any PII;
- a campaign key: the other supplier's leads, any buyer's name or price.

And the admin-only sections answer 403 to everyone else; a party's user gets 403 wherever
its scope has nothing (the portals are the next round's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import RouteContext, iter_route_contexts
from playwright.sync_api import Page

from pingtree.api.app import create_app
from pingtree.api.serving import every_route
from pingtree.mockbuyer import MockBuyer
from tests.api.conftest import MONDAY_10AM_NEW_YORK, admin_token, market_settings
from tests.api.market import PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers
from tests.support.clock import FrozenClock
from tests.support.server import serve_app
from tests.web.conftest import PASSWORD, create_people, in_thread
from tests.web.session import csrf_token, sign_in
from tests.web.test_browser import sign_in as browser_sign_in

SUPPLIERS = {"northwind": "Northwind Leads Ltd", "southpaw": "Southpaw Media Group"}
BUYERS = {"alphains": "Alpha Insurance Co", "bravocov": "Bravo Coverage LLC"}
#: each buyer buys one state's leads, at a price found nowhere else
STATES = {"alphains": ("FL", "33101"), "bravocov": ("TX", "75001")}
PRICES = {"alphains": "41.17", "bravocov": "37.23"}
#: what the suppliers are paid (70 % revenue share) and the margins, per buyer
PAYOUTS = {"alphains": "28.81", "bravocov": "26.06"}
MARGINS = {"alphains": "12.36", "bravocov": "11.17"}
#: the consumer's PII: values no page shows unless revealed
CONTACT = {"first_name": "Zebulon", "phone": "(305) 555-0199", "email": "zebulon.q@example.org"}
PII = ("Zebulon", "5550199", "555-0199", "zebulon.q")
#: the admin-only sections of the UI and what the admin API keeps to admin tokens
ADMIN_ONLY_PAGES = ("/ui/sign-ins", "/ui/erasures", "/ui/users")
#: a party's user may open these (its own data in them); anything else answers 403
PARTY_PAGES = {
    "supplier": (
        "/ui/leads",
        "/ui/pings",
        # its own campaign's posting instructions (the supplier portal's)
        "/ui/campaigns/northwind_auto/instructions",
        "/ui/campaigns/northwind_auto/instructions.md",
        "/ui/campaigns/northwind_auto/instructions.pdf",
        # the supplier portal: its campaigns, its own campaigns' keys
        "/ui/my-campaigns",
        "/ui/keys",
        # its own scorecard (its acceptance, sell and return rates; no money)
        "/ui/my-scorecard",
        # its own supplier's API keys
        "/ui/party-keys",
        # its own payout statements and drafts
        "/ui/invoices",
        # its own campaigns' dispositions report
        "/ui/dispositions",
        # its own campaigns' leads returned (no buyer, no price), its own account
        "/ui/returns",
        "/ui/my-account",
    ),
    # and its portal: its own orders, the leads it bought, their CSV
    "buyer": (
        "/ui/leads",
        "/ui/attempts",
        "/ui/my-orders",
        "/ui/bought-leads",
        "/ui/bought-leads.csv",
        "/ui/my-scorecard",
        # its own buyer's API keys
        "/ui/party-keys",
        # its own invoices and drafts
        "/ui/invoices",
        # its own returns, its own account
        "/ui/returns",
        "/ui/my-account",
    ),
}
#: pages about no one's data, open to anyone (or to anyone signed in)
NEUTRAL = ("/ui/login", "/ui/static/", "/healthz", "/readyz", "/docs", "/redoc", "/openapi")


@dataclass
class Sold:
    supplier: str
    buyer: str
    ping_id: str
    lead_id: str


@dataclass
class World:
    app: FastAPI
    market: Market
    sold: list[Sold] = field(default_factory=list)
    user_ids: dict[str, str] = field(default_factory=dict)
    #: the returns asked by staff, by (supplier, buyer): see :func:`_returns`
    return_ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def of(self, supplier: str, buyer_id: str) -> Sold:
        return next(s for s in self.sold if s.supplier == supplier and s.buyer == buyer_id)


def _buying(mock: MockBuyer, buyer_id: str) -> dict[str, Any]:
    state, _ = STATES[buyer_id]
    step = {
        "url": mock.post_url(buyer_id),
        "content_type": "json",
        "timeout_ms": 2000,
        "body": {"fields": [{"from": n, "to": n} for n in ("zip", "first_name", "phone", "email")]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    spec = order(
        f"{buyer_id}_{state.lower()}",
        PRICES[buyer_id],
        filters={"all": [{"field": "state", "op": "eq", "value": state}]},
        delivery={"post": step},
    )
    return buyer(buyer_id, spec, name=BUYERS[buyer_id])


def _config(mock: MockBuyer) -> dict[str, Any]:
    config = marketplace([_buying(mock, b) for b in BUYERS])
    config["suppliers"] = [
        {"id": s, "name": name, "campaigns": [campaign(f"{s}_auto", name=f"{name} auto")]}
        for s, name in SUPPLIERS.items()
    ]
    return config


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp_path: Path = tmp_path_factory.mktemp("walk")
    endpoints = {b: {"check_token": False} for b in BUYERS}
    settings = in_thread(lambda: market_settings(tmp_path))
    token = in_thread(lambda: admin_token(settings))
    create_people(settings)
    app = create_app(settings, clock=FrozenClock(MONDAY_10AM_NEW_YORK))
    with (
        running_buyers(endpoints) as mock,
        serve_app(app) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        market = Market(http, token, FrozenClock(MONDAY_10AM_NEW_YORK), settings)
        market.apply(_config(mock))
        world = World(app, market)
        for supplier in SUPPLIERS:
            for buyer_id, (state, zip_code) in STATES.items():
                fields = {**PING, "state": state, "zip": zip_code}
                pinged = market.ping(fields, f"{supplier}_auto")
                assert pinged["status"] == "accepted", pinged
                posted = market.post(pinged["ping_id"], {**fields, **CONTACT}, f"{supplier}_auto")
                assert posted["status"] == "sold", posted
                world.sold.append(Sold(supplier, buyer_id, pinged["ping_id"], posted["lead_id"]))
        for username, role, binding in (
            ("sam", "supplier", {"supplier_id": "northwind"}),
            ("bea", "buyer", {"buyer_id": "alphains"}),
        ):
            made = http.post(
                "/api/v1/admin/users",
                headers=market.admin,
                json={"username": username, "role": role, "password": PASSWORD, **binding},
            )
            assert made.status_code == 201, made.text
            world.user_ids[username] = made.json()["id"]
        _returns(world)
        yield world


def _returns(world: World) -> None:
    """North's leads to each buyer returned and approved (credited, charged back), south's
    to bravo asked and waiting: the returns and accounts pages have each side's data."""
    market = world.market
    for pair, decide in (
        (("northwind", "alphains"), True),
        (("northwind", "bravocov"), True),
        (("southpaw", "bravocov"), False),
    ):
        asked = market.http.post(
            "/api/v1/admin/returns",
            headers=market.admin,
            json={"lead_id": world.of(*pair).lead_id, "reason": "wrong_number"},
        )
        assert asked.status_code == 201, asked.text
        world.return_ids[pair] = asked.json()["id"]
        if decide:
            approved = market.http.post(
                f"/api/v1/admin/returns/{asked.json()['id']}/approve",
                headers=market.admin,
                json={"note": "checked"},
            )
            assert approved.status_code == 200, approved.text


# --- what each principal must never see ----------------------------------------------------


def _forbidden_to_supplier(world: World) -> list[str]:
    """North's user: nothing of south, nothing of any buyer, no price, no margin."""
    words = ["southpaw", SUPPLIERS["southpaw"], *BUYERS, *BUYERS.values()]
    words += list(PRICES.values()) + list(MARGINS.values())
    words += [s.lead_id for s in world.sold if s.supplier == "southpaw"]
    words += [s.ping_id for s in world.sold if s.supplier == "southpaw"]
    return words


def _forbidden_to_buyer(world: World) -> list[str]:
    """Alpha's user: nothing of bravo, no supplier's payout or name, no margin."""
    words = ["bravocov", BUYERS["bravocov"], PRICES["bravocov"], *SUPPLIERS.values()]
    words += list(PAYOUTS.values()) + list(MARGINS.values())
    words += [s.lead_id for s in world.sold if s.buyer == "bravocov"]
    return words


def _leaks(answer: httpx.Response, words: list[str]) -> list[str]:
    """The words in the answer that its own URL did not ask for."""
    asked = str(answer.request.url)
    return [w for w in words if w in answer.text and w not in asked]


# --- filling the routes ---------------------------------------------------------------------


def _variants(world: World) -> list[dict[str, str]]:
    """Each route's parameters, once per supplier x buyer pair: every id of that pair."""
    filled = []
    for supplier in SUPPLIERS:
        for buyer_id in BUYERS:
            sold = world.of(supplier, buyer_id)
            filled.append(
                {
                    "lead_id": sold.lead_id,
                    "ping_id": sold.ping_id,
                    "campaign_id": f"{supplier}_auto",
                    "supplier_id": supplier,
                    "buyer_id": buyer_id,
                    "order_id": f"{buyer_id}_{STATES[buyer_id][0].lower()}",
                    "vertical_id": "auto",
                    "user_id": world.user_ids["sam" if buyer_id == "alphains" else "bea"],
                    "return_id": world.return_ids.get((supplier, buyer_id), "unknown"),
                    "party": "buyer",
                    "party_id": buyer_id,
                }
            )
    return filled


_KINDS = {
    "buyers": "buyer_id",
    "orders": "order_id",
    "suppliers": "supplier_id",
    "campaigns": "campaign_id",
    "verticals": "vertical_id",
}
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _urls(route: RouteContext, variants: list[dict[str, str]]) -> list[str]:
    urls = []
    path = route.path_format or ""
    kinds = [k for k in _KINDS if f"/{k}/" in path]
    for values in variants:

        def fill(match: re.Match[str], values: dict[str, str] = values) -> str:
            name = match.group(1)
            if name == "entity_id":
                return values[_KINDS[kinds[-1]]] if kinds else "auto"
            if name == "kind":
                return "campaigns"
            if name == "name":
                return "style.css" if "static" in path else "walk_secret"
            return values.get(name, "unknown")

        urls.append(_PARAM.sub(fill, path))
    return sorted(set(urls))


def _routes(world: World, methods: set[str]) -> list[tuple[str, str]]:
    found = []
    variants = _variants(world)
    # the routers are included at start-up, each as a whole (the UI's at its first request):
    # their routes, one by one
    for route in iter_route_contexts(every_route(world.app.routes)):
        for method in sorted((route.methods or set()) & methods):
            found += [(method, url) for url in _urls(route, variants)]
    assert len(found) > 40, "the app's routes were not found"
    return found


@contextmanager
def _signed_in(world: World, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(world.market.http.base_url), timeout=30) as http:
        assert sign_in(http, username, password).status_code == 303
        yield http


def _is(url: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    path = url.split("?")[0]
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


# --- the walks --------------------------------------------------------------------------------


PEOPLE = {"ada": "admin", "otto": "operator", "ana": "analyst", "sam": "supplier", "bea": "buyer"}


@pytest.mark.parametrize("username", list(PEOPLE))
def test_every_page_keeps_to_the_signed_in_principals_scope(world: World, username: str) -> None:
    assert not _page_walk(world, username)


def _page_walk(world: World, username: str) -> str:
    """What ``username`` was shown or let do that it must not, one line each."""
    role = PEOPLE[username]
    forbidden = {
        "supplier": _forbidden_to_supplier(world),
        "buyer": _forbidden_to_buyer(world),
        "analyst": list(PII),
    }.get(role, [])
    problems: list[str] = []
    with _signed_in(world, username) as http:
        for _method, url in _routes(world, {"GET"}):
            if url == "/ui/logout":
                continue
            answer = http.get(url)
            if answer.status_code >= 500:
                problems.append(f"GET {url}: {answer.status_code}")
            if leaks := _leaks(answer, forbidden):
                problems.append(f"GET {url} ({answer.status_code}) shows {leaks}")
            if _is(url, ADMIN_ONLY_PAGES) and role != "admin" and answer.status_code != 403:
                problems.append(f"GET {url}: {answer.status_code}, not 403 to the {role}")
            if (
                role in PARTY_PAGES
                and url.startswith("/ui")
                and url != "/ui"
                and not _is(url, PARTY_PAGES[role] + NEUTRAL)
                and answer.status_code not in (403, 404)
            ):
                problems.append(f"GET {url}: {answer.status_code}, not 403 to the {role}")
        if role != "admin":
            problems += _refused_writes(world, http, role, forbidden)
    return "\n".join(problems)


def _refused_writes(world: World, http: httpx.Client, role: str, forbidden: list[str]) -> list[str]:
    """Every form of the UI posted by one who may not use it: refused, and nothing leaks."""
    token = csrf_token(http.get("/ui/leads" if role != "operator" else "/ui").text)
    own_reveals = {f"/ui/leads/{s.lead_id}/reveal" for s in world.sold if s.supplier == "northwind"}
    problems = []
    for method, url in _routes(world, {"POST"}):
        if not url.startswith("/ui") or url in ("/ui/login", "/ui/logout"):
            continue
        may_write = role == "operator" and not _is(url, ADMIN_ONLY_PAGES)
        # a buyer's user pauses and resumes its own orders (tests/web/test_buyer_portal.py)
        may_write |= role == "buyer" and _is(url, ["/ui/my-orders/alphains_fl"])
        if may_write:
            continue
        answer = http.post(url, data={"csrf_token": token, "confirm": "true"})
        if role == "supplier" and url in own_reveals:
            # a supplier's user reveals its own leads' PII (audited): nothing else shows
            if answer.status_code != 200:
                problems.append(f"{method} {url}: {answer.status_code}, its own lead's reveal")
            if leaks := _leaks(answer, forbidden):
                problems.append(f"{method} {url} ({answer.status_code}) shows {leaks}")
            continue
        if answer.status_code < 400 or answer.status_code >= 500:
            problems.append(f"{method} {url}: {answer.status_code} to the {role}")
        if leaks := _leaks(answer, forbidden):
            problems.append(f"{method} {url} ({answer.status_code}) shows {leaks}")
    return problems


def test_the_supplier_and_buyer_users_see_their_own_data(world: World) -> None:
    """The walk above would pass on pages that show nothing: these show what they must."""
    with _signed_in(world, "sam") as http:
        leads = http.get("/ui/leads").text
        assert world.of("northwind", "alphains").lead_id in leads
        assert world.of("northwind", "bravocov").lead_id in leads
        lead = http.get(f"/ui/leads/{world.of('northwind', 'bravocov').lead_id}")
        assert lead.status_code == 200
        assert PAYOUTS["bravocov"] in lead.text  # what it was paid, never the price
        assert http.get("/ui").headers["location"] == "/ui/my-campaigns"
        nav = re.findall(r'<nav aria-label="Sections">(.*?)</nav>', leads, re.S)[0]
        assert "/ui/buyers" not in nav
        assert "/ui/reports" not in nav
        assert "/ui/pings" in nav
        # its own scorecard: its own leads counted, nothing of a buyer (the walk above)
        assert "Your scorecard" in http.get("/ui/my-scorecard?from=2026-11-01").text
    with _signed_in(world, "bea") as http:
        leads = http.get("/ui/leads").text
        assert world.of("northwind", "alphains").lead_id in leads
        assert world.of("southpaw", "alphains").lead_id in leads
        attempts = http.get("/ui/attempts").text
        assert "alphains_fl" in attempts
        assert "Your scorecard" in http.get("/ui/my-scorecard?from=2026-11-01").text
    with _signed_in(world, "ana") as http:
        lead_id = world.of("southpaw", "bravocov").lead_id
        assert http.get(f"/ui/leads/{lead_id}").status_code == 200
        token = csrf_token(http.get(f"/ui/leads/{lead_id}").text)
        refused = http.post(f"/ui/leads/{lead_id}/reveal", data={"csrf_token": token})
        assert refused.status_code == 403
    with _signed_in(world, "ada") as http:
        lead_id = world.of("southpaw", "bravocov").lead_id
        token = csrf_token(http.get(f"/ui/leads/{lead_id}").text)
        shown = http.post(f"/ui/leads/{lead_id}/reveal", data={"csrf_token": token})
        assert shown.status_code == 200
        assert "Zebulon" in shown.text


def test_the_returns_and_accounts_pages_show_each_party_its_own(world: World) -> None:
    """The walk would pass on empty returns pages: each party's shows its own returns."""
    north_alpha = world.of("northwind", "alphains").lead_id
    north_bravo = world.of("northwind", "bravocov").lead_id
    with _signed_in(world, "sam") as http:
        returns = http.get("/ui/returns").text
        assert north_alpha in returns
        assert north_bravo in returns
        account = http.get("/ui/my-account").text
        assert f"-{PAYOUTS['alphains']}" in account  # charged back its payout
    with _signed_in(world, "bea") as http:
        returns = http.get("/ui/returns").text
        assert north_alpha in returns
        assert PRICES["alphains"] in returns
        assert PRICES["alphains"] in http.get("/ui/my-account").text
    with _signed_in(world, "ana") as http:
        queue = http.get("/ui/returns").text  # the staff's queue: the one waiting
        assert world.of("southpaw", "bravocov").lead_id in queue
        assert north_alpha not in queue


def test_every_api_route_keeps_to_the_tokens_scope(world: World) -> None:
    market = world.market
    key = {"Authorization": f"Bearer {market.key('northwind_auto')}"}
    problems: list[str] = []
    for _method, url in _routes(world, {"GET"}):
        if url.startswith("/ui") or url in ("/", "/metrics"):
            continue
        as_admin = market.http.get(url, headers=market.admin)
        if as_admin.status_code >= 500:
            problems.append(f"GET {url} as admin: {as_admin.status_code}")
        as_key = market.http.get(url, headers=key)
        if url.startswith("/api/v1/admin") and as_key.status_code != 403:
            problems.append(f"GET {url}: {as_key.status_code}, not 403 to a campaign key")
        if leaks := _leaks(as_key, _forbidden_to_supplier(world)):
            problems.append(f"GET {url} ({as_key.status_code}) shows a campaign key {leaks}")
    for method, url in _routes(world, {"POST", "PUT", "DELETE"}):
        if not url.startswith("/api/v1/admin"):
            continue
        answer = market.http.request(method, url, headers=key, json={})
        if answer.status_code != 403:
            problems.append(f"{method} {url}: {answer.status_code}, not 403 to a campaign key")
    assert not problems, "\n".join(problems)


def test_a_disabled_users_session_ends_and_a_reset_password_is_shown_once(world: World) -> None:
    # a user of its own: the walks' users keep their passwords, whatever the order of tests
    made = world.market.http.post(
        "/api/v1/admin/users",
        headers=world.market.admin,
        json={
            "username": "sid",
            "role": "supplier",
            "password": PASSWORD,
            "supplier_id": "northwind",
        },
    )
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    with _signed_in(world, "sid") as http, _signed_in(world, "ada") as admin:
        assert http.get("/ui/leads").status_code == 200
        token = csrf_token(admin.get("/ui/users").text)
        page = admin.post(f"/ui/users/{sid}/disable", data={"csrf_token": token})
        assert page.status_code == 200
        assert "sid disabled" in page.text
        assert http.get("/ui/leads").status_code == 303  # back to the sign-in page
        assert sign_in(http, "sid").status_code != 303
        admin.post(f"/ui/users/{sid}/enable", data={"csrf_token": token})
        reset = admin.post(f"/ui/users/{sid}/password", data={"csrf_token": token})
        password = re.findall(r'<code class="once">([^<]+)</code>', reset.text)[0]
        assert password not in admin.get("/ui/users").text
    with _signed_in(world, "sid", password) as http:
        assert http.get("/ui/leads").status_code == 200


def test_users_are_bound_only_to_parties_that_exist(world: World) -> None:
    market = world.market
    cases = [
        ({"role": "supplier", "supplier_id": "nobody"}, "supplier_id", "no such supplier"),
        ({"role": "buyer", "buyer_id": "nobody"}, "buyer_id", "no such buyer"),
        ({"role": "supplier"}, "supplier_id", "must be bound to a supplier"),
        ({"role": "analyst", "buyer_id": "alphains"}, "buyer_id", "not bound to a buyer"),
        ({"role": "owner"}, "role", "'supplier' or 'buyer'"),
        ({"role": "admin", "time_zone": "Mars/Olympus"}, "time_zone", "IANA"),
    ]
    for body, where, says in cases:
        answer = market.http.post(
            "/api/v1/admin/users",
            headers=market.admin,
            json={"username": "newcomer", "password": PASSWORD, **body},
        )
        assert answer.status_code == 422, answer.text
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", where], error
        assert says in error["msg"], error
    for username in ("new comer", "new\x00comer", "new:comer", "n" * 101):
        answer = market.http.post(
            "/api/v1/admin/users",
            headers=market.admin,
            json={"username": username, "role": "admin", "password": PASSWORD},
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["body", "username"]
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={"username": "newcomer", "role": "buyer", "buyer_id": "bravocov"},
    )
    assert made.status_code == 201
    assert len(made.json()["password"]) >= 12
    moved = market.http.put(
        f"/api/v1/admin/users/{made.json()['id']}/role",
        headers=market.admin,
        json={"role": "supplier", "supplier_id": "southpaw", "time_zone": "America/New_York"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["supplier_id"] == "southpaw"
    assert moved.json()["buyer_id"] is None
    assert moved.json()["time_zone"] == "America/New_York"


# --- the same walk in a browser ---------------------------------------------------------------


#: the most pages a browser walk opens (every link a party's user is shown, two clicks deep)
_BROWSER_PAGES = 80
#: links to files the browser saves (a campaign's instructions, a buyer's export)
_DOWNLOADS = (".md", ".csv", ".pdf")


@pytest.mark.parametrize("username", ["sam", "bea"])
def test_a_partys_user_clicking_every_link_it_is_shown_sees_only_its_own(
    world: World, page: Page, username: str
) -> None:
    """In chromium, as the person would: signed in, every link of every page it can reach
    from its menu (two clicks deep) opens on its own data and on nobody else's."""
    forbidden = {"sam": _forbidden_to_supplier, "bea": _forbidden_to_buyer}[username](world)
    browser_sign_in(page, world.market, username)
    base = str(world.market.http.base_url).rstrip("/")
    to_visit = [page.url.removeprefix(base)]
    seen: set[str] = set()
    problems: list[str] = []
    for _depth in range(3):
        found: list[str] = []
        for path in to_visit:
            if path in seen or len(seen) >= _BROWSER_PAGES:
                continue
            seen.add(path)
            # a file to save, not a page: fetched as the browser
            if path.split("?")[0].endswith(_DOWNLOADS):
                download = page.request.get(base + path)
                # a PDF is bytes: its words are read as they stand
                status, text = download.status, download.body().decode("latin-1")
            else:
                answer = page.goto(base + path)
                assert answer is not None
                status, text = answer.status, page.locator("body").inner_text()
                links = page.eval_on_selector_all("a[href^='/ui']", "all => all.map(a => a.href)")
                # without its #part: a link within the page is the page
                found += [h.removeprefix(base).split("#")[0] for h in links]
            if status >= 500:
                problems.append(f"{path}: {status}")
            problems += [f"{path} shows {w}" for w in forbidden if w in text and w not in path]
        to_visit = [p for p in dict.fromkeys(found) if p not in seen and p != "/ui/logout"]
    own = [
        sold.lead_id
        for sold in world.sold
        if (sold.buyer == "alphains" if username == "bea" else sold.supplier == "northwind")
    ]
    # the menu and what it leads to were walked, down to the party's own leads
    assert any(lead_id in path for path in seen for lead_id in own), sorted(seen)
    assert not problems, "\n".join(problems)
