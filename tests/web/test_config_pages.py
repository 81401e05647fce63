"""The configuration pages over plain HTTP: lists, forms with their CSRF token, roles."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.web.session import csrf_token, sign_in

CAPPED = order("shield_fl", "25.00", caps=[{"kind": "count", "window": "day", "limit": 3}])


def signed_in(market: Market, username: str = "ada") -> httpx.Client:
    assert sign_in(market.http, username).status_code == 303
    return market.http


def submit(http: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """Load a form, fill it (its other inputs as they were), post it."""
    page = http.get(path)
    assert page.status_code == 200, page.text
    return http.post(path, data={**form_inputs(page.text), **fields})


def form_inputs(html: str) -> dict[str, str]:
    """The named inputs of the page's edit form with their current values."""
    form = html[html.index('class="card config-form"') :]
    values = {}
    for name, value in re.findall(r'<input type="text" name="([^"]+)" value="([^"]*)"', form):
        values[name] = value
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" value="on" checked>', form):
        values[name] = "on"
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', form, re.S):
        values[name] = text.replace("&#39;", "'").replace("&#34;", '"').replace("&gt;", ">")
    for name, value in re.findall(
        r'<select name="([^"]+)">.*?<option value="([^"]*)" selected', form, re.S
    ):
        values[name] = value
    values["csrf_token"] = csrf_token(form)
    return values


def api_entity(market: Market, path: str) -> dict[str, Any]:
    answer = market.http.get(f"/api/v1/admin/config/{path}", headers=market.admin)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_buyers_page_lists_buyers_with_their_orders(market: Market) -> None:
    market.apply(marketplace([buyer("shield", CAPPED), buyer("rich", order("rich_fl"))]))
    page = signed_in(market).get("/ui/buyers")
    assert page.status_code == 200
    assert 'href="/ui/orders/shield_fl"' in page.text
    assert 'href="/ui/buyers/rich"' in page.text
    assert 'aria-label="Pause shield_fl"' in page.text
    assert 'href="/ui/verticals"' in page.text  # in the navigation


def test_an_order_page_shows_its_caps_with_their_use(market: Market) -> None:
    market.apply(marketplace([buyer("shield", CAPPED)]))
    market.sell()
    page = signed_in(market).get("/ui/orders/shield_fl")
    assert page.status_code == 200
    row = page.text[page.text.index("count per day") :]
    row = row[: row.index("</tr>")]
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["1", "0", "3"]
    assert "fixed 25.00" in page.text
    assert "No HTTP delivery" in page.text
    assert "Test this buyer" in page.text


def test_creating_a_buyer_and_an_order_through_the_forms(market: Market) -> None:
    market.apply(marketplace([]))
    http = signed_in(market, "otto")
    made = submit(http, "/ui/buyers/new", id="acme_ins", name="Acme Insurance")
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/ui/buyers/acme_ins?notice=created"
    assert "Created." in http.get(made.headers["location"]).text

    made = submit(
        http,
        "/ui/buyers/acme_ins/orders/new",
        id="acme_fl",
        vertical="auto",
        **{"pricing.type": "fixed", "pricing.exclusive": "18.50"},
        caps="- {kind: count, window: day, limit: 10}",
        filters="all:\n- {field: state, op: in, value: [FL]}",
    )
    assert made.status_code == 303, made.text
    spec = api_entity(market, "orders/acme_fl")
    assert spec["parent_id"] == "acme_ins"
    assert spec["spec"]["pricing"] == {"type": "fixed", "exclusive": "18.50"}
    assert spec["spec"]["caps"] == [{"kind": "count", "window": "day", "limit": 10}]
    assert market.sell()["status"] == "sold"


def test_an_edit_form_is_prefilled_and_saves_the_change(market: Market) -> None:
    market.apply(marketplace([buyer("shield", CAPPED)]))
    http = signed_in(market)
    form = form_inputs(http.get("/ui/orders/shield_fl/edit").text)
    assert form["pricing.exclusive"] == "25.00"
    assert form["caps"] == "- {kind: count, window: day, limit: 3}"
    saved = submit(http, "/ui/orders/shield_fl/edit", **{"pricing.exclusive": "26.00"})
    assert saved.headers["location"] == "/ui/orders/shield_fl?notice=saved"
    assert api_entity(market, "orders/shield_fl")["spec"]["caps"] == CAPPED["caps"]
    assert api_entity(market, "orders/shield_fl")["spec"]["pricing"]["exclusive"] == "26.00"
    same = submit(http, "/ui/orders/shield_fl/edit")
    assert same.headers["location"] == "/ui/orders/shield_fl?notice=unchanged"


def test_an_invalid_form_comes_back_with_the_messages_of_apply(market: Market) -> None:
    market.apply(marketplace([buyer("shield", CAPPED)]))
    http = signed_in(market)
    answer = submit(
        http,
        "/ui/orders/shield_fl/edit",
        caps="- {kind: count, window: fortnight, limit: 3}",
        priority="high",
    )
    assert answer.status_code == 422
    assert "was not saved" in answer.text
    assert "fortnight" in answer.text  # the submitted value is shown again
    assert "caps[0].window: input should be" in answer.text
    assert "priority: input should be a valid integer" in answer.text
    unreadable = submit(http, "/ui/orders/shield_fl/edit", schedule="hours: [oops")
    assert "schedule: line 1, column" in unreadable.text
    assert api_entity(market, "orders/shield_fl")["spec"].get("priority") is None

    taken = submit(http, "/ui/buyers/new", id="shield", name="Other")
    assert taken.status_code == 422
    assert "id: a buyer has this id already" in taken.text


def test_pause_and_resume_buttons(market: Market) -> None:
    market.apply(marketplace([buyer("shield", CAPPED)]))
    http = signed_in(market)
    token = csrf_token(http.get("/ui/buyers").text)
    paused = http.post(
        "/ui/orders/shield_fl/pause", data={"csrf_token": token, "next": "/ui/buyers"}
    )
    assert paused.status_code == 303
    assert paused.headers["location"] == "/ui/buyers?notice=paused"
    assert api_entity(market, "orders/shield_fl")["status"] == "paused"
    assert market.ping()["status"] == "rejected"
    resumed = http.post("/ui/orders/shield_fl/resume", data={"csrf_token": token})
    assert resumed.headers["location"] == "/ui/orders/shield_fl?notice=resumed"
    assert market.ping()["status"] == "accepted"


def test_campaigns_suppliers_and_verticals_have_pages_and_forms(market: Market) -> None:
    market.apply(marketplace([], [campaign(max_sells=2)]))
    http = signed_in(market)
    assert 'href="/ui/campaigns/acme_auto"' in http.get("/ui/campaigns").text
    assert "Auto insurance" in http.get("/ui/verticals").text
    assert "first_name" in http.get("/ui/verticals/auto").text
    assert "max sells" in http.get("/ui/campaigns/acme_auto").text
    assert "acme_auto" in http.get("/ui/suppliers/acme").text

    saved = submit(http, "/ui/campaigns/acme_auto/edit", **{"payout.percent": "65"})
    assert saved.status_code == 303, saved.text
    campaign_now = api_entity(market, "campaigns/acme_auto")["spec"]
    assert campaign_now["payout"] == {"model": "revenue_share", "percent": 65}
    assert campaign_now["max_sells"] == 2

    made = submit(http, "/ui/suppliers/new", id="beta", name="Beta Leads")
    assert made.status_code == 303, made.text
    made = submit(
        http,
        "/ui/suppliers/beta/campaigns/new",
        id="beta_auto",
        vertical="auto",
        **{"payout.model": "fixed", "payout.amount": "4.00"},
    )
    assert made.status_code == 303, made.text
    assert api_entity(market, "campaigns/beta_auto")["parent_id"] == "beta"

    made = submit(
        http, "/ui/verticals/new", id="solar", fields="- {name: zip, type: zip, ping: required}"
    )
    assert made.status_code == 303, made.text
    assert api_entity(market, "verticals/solar")["spec"]["fields"][0]["name"] == "zip"


def test_testing_a_buyer_without_http_delivery_says_so(market: Market) -> None:
    market.apply(marketplace([buyer("shield", CAPPED)]))
    http = signed_in(market)
    token = csrf_token(http.get("/ui/orders/shield_fl").text)
    answer = http.post("/ui/orders/shield_fl/test", data={"csrf_token": token})
    assert answer.status_code == 200
    assert "has no HTTP delivery" in answer.text


def test_forms_need_their_token_and_an_editor(market: Market) -> None:
    market.apply(marketplace([buyer("shield", CAPPED)]))
    http = signed_in(market, "ana")
    page = http.get("/ui/orders/shield_fl")
    assert page.status_code == 200
    assert "Pause" not in page.text
    assert "/ui/orders/shield_fl/edit" not in page.text
    assert http.get("/ui/orders/shield_fl/edit").status_code == 403
    token = csrf_token(page.text)
    refused = http.post("/ui/orders/shield_fl/pause", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "analyst role may not change the configuration" in refused.text

    http.cookies.clear()
    http = signed_in(market, "ada")
    forged = http.post("/ui/orders/shield_fl/pause", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert api_entity(market, "orders/shield_fl")["status"] == "active"
    assert http.get("/ui/orders/nope").status_code == 404
