"""The scorecards' pages: the staff's, linked from a buyer's and a supplier's page, and a
party's own in its portal, with the reports' period picker."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.api.market import Market, buyer, marketplace, order
from tests.scorecards.test_post_failures import posting
from tests.support.buyers import running_buyers
from tests.web.conftest import PASSWORD
from tests.web.session import sign_in


@pytest.fixture
def world(market: Market) -> Iterator[Market]:
    with running_buyers({"shield": {"check_token": False}}) as mock:
        shield = posting(mock.post_url("shield"), "shield", "25.00")
        market.apply(
            marketplace(
                [
                    {**shield, "name": "Shield Insurance"},
                    buyer("acorn", order("acorn_fl", "21.00"), name="Acorn Mutual"),
                ]
            )
        )
        assert market.sell()["status"] == "sold"  # to shield, the higher price, by a post
        _people(market)
        yield market


def _people(market: Market) -> None:
    for username, binding in (("bea", {"buyer_id": "shield"}), ("sam", {"supplier_id": "acme"})):
        role = "buyer" if "buyer_id" in binding else "supplier"
        made = market.http.post(
            "/api/v1/admin/users",
            headers=market.admin,
            json={"username": username, "role": role, "password": PASSWORD, **binding},
        )
        assert made.status_code == 201, made.text


def figure(html: str, name: str) -> str:
    """The value a page's tile of figure ``name`` shows."""
    found = re.search(rf'data-figure="{name}"[^>]*><dt>[^<]*</dt><dd>([^<]*)</dd>', html)
    assert found, f"no figure {name}"
    return found.group(1)


@contextmanager
def signed_in(market: Market, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, username).status_code == 303
        yield http


def test_the_staff_open_any_partys_scorecard_from_its_page(world: Market) -> None:
    with signed_in(world, "ana") as analyst:
        # from the buyers' report too, over the report's days
        link = '/ui/buyers/shield/scorecard?from=2026-11-23&amp;to=2026-12-31&amp;tz=UTC"'
        give_up = time.monotonic() + 10  # the delivery log is written in batches
        while link not in analyst.get("/ui/reports?from=2026-11-23&to=2026-12-31").text:
            assert time.monotonic() < give_up, "no link to the buyer's scorecard"
            time.sleep(0.1)
        assert 'href="/ui/buyers/shield/scorecard"' in analyst.get("/ui/buyers/shield").text
        assert 'href="/ui/suppliers/acme/scorecard"' in analyst.get("/ui/suppliers/acme").text
        page = analyst.get("/ui/buyers/shield/scorecard?period=today")
        assert page.status_code == 200
        assert "Scorecard of Shield Insurance" in page.text
        assert figure(page.text, "sold") == "1"
        assert 'data-failure="http_5xx"' in page.text
        page = analyst.get("/ui/suppliers/acme/scorecard?from=2026-11-23&to=2026-11-23")
        assert page.status_code == 200
        assert figure(page.text, "sell_rate") == "100.0 %"
        assert figure(page.text, "leads") == "1"
        # a day before anything: nothing
        page = analyst.get("/ui/suppliers/acme/scorecard?from=2026-11-20&to=2026-11-20")
        assert figure(page.text, "leads") == "0"
        for bad, says in (
            ("tz=Mars/Olympus", "tz:"),
            ("from=2026-11-23&to=2026-11-20", "to: must not be before from"),
            ("period=week", "period"),
        ):
            refused = analyst.get(f"/ui/buyers/shield/scorecard?{bad}")
            assert refused.status_code == 400, bad
            assert says in refused.text, bad
        assert analyst.get("/ui/buyers/nobody/scorecard").status_code == 404
        # the staff have no scorecard of their own
        assert analyst.get("/ui/my-scorecard").status_code == 403


def test_a_party_sees_its_own_scorecard_in_its_portal_and_no_other(world: Market) -> None:
    with signed_in(world, "bea") as bea:
        assert 'href="/ui/my-scorecard"' in bea.get("/ui/my-orders").text
        page = bea.get("/ui/my-scorecard?period=today")
        assert page.status_code == 200
        assert "Your scorecard" in page.text
        assert figure(page.text, "sold") == "1"
        assert "Acorn" not in page.text
        assert "acme" not in page.text.lower()
        for url in ("/ui/buyers/shield/scorecard", "/ui/buyers/acorn/scorecard"):
            assert bea.get(url).status_code == 403
    with signed_in(world, "sam") as sam:
        assert 'href="/ui/my-scorecard"' in sam.get("/ui/my-campaigns").text
        page = sam.get("/ui/my-scorecard?period=today")
        assert page.status_code == 200
        assert 'data-figure="acceptance_rate"' in page.text
        for word in ("shield", "Shield", "acorn", "25.00", "value_per_sold", "Latency"):
            assert word not in page.text, word
        assert sam.get("/ui/suppliers/acme/scorecard").status_code == 403
