"""Every configuration form round-trips the keys it does not show (issue 13's walk: editing a
campaign in the UI deleted its ``postback_url``). Each kind's spec here sets every optional
key of its schema; saving its edit form unchanged but for the name keeps all of them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from pingtree.config.buyer_spec import BuyerSpec, OrderSpec
from pingtree.config.supplier_spec import CampaignSpec, SupplierSpec
from pingtree.config.vertical_spec import VerticalSpec
from tests.api.market import AUTO_VERTICAL, Market, buyer, campaign, marketplace, order
from tests.web.test_config_pages import api_entity, form_inputs, signed_in, submit

FULL_CAMPAIGN = campaign(
    name="Acme auto",
    modes=["ping_post", "direct_post"],
    payout={"model": "fixed", "amount": "4.50"},
    max_sells=2,
    rank_by="priority",
    ping_ttl_seconds=120,
    ping_deadline_ms=800,
    wait_for_delivery=False,
    post_deadline_ms=9000,
    postback_url="https://acme.example/postback?id=1",
    postback_method="POST",
    charge_back_returns=False,
    test_mode=True,
    active=False,
    inbound_dedup_days=3,
    steps=[{"type": "email", "on_fail": "flag"}],
    inbound=[
        {
            "id": "cake_xml",
            "format": "xml",
            "aliases": {"ZipCode": "zip", "ApiKey": "api_key"},
            "values": {"insured": {"Y": True, "N": False}},
            "ignore": ["Vendor"],
            "xml_root": "Lead",
            "answer": {
                "format": "xml",
                "root": "Response",
                "names": {"status": "Status"},
                "statuses": {"sold": "Accepted"},
            },
        }
    ],
    ping_options={
        "min_revenue": "1.00",
        "min_profit": "0.50",
        "min_profit_percent": 10,
        "min_buyers": 2,
        "required_fields": ["zip"],
        "qualify_all_criteria": True,
    },
    consent={
        "texts": [{"version": "v1", "text": "I agree to be called."}],
        "max_age_minutes": 90,
        "require": ["text", "time"],
    },
    rate_limits={"per_second": 50, "per_key": {"concurrent": 10}},
    ping_dedup={"window_seconds": 600, "on_repeat": "reject", "fields": ["zip", "age"]},
    forms=[
        {
            "id": "acme_quote",
            "title": "Quotes",
            "steps": [
                {"title": "You", "fields": ["zip", "state", {"name": "age", "help": "16+"}]},
                {"title": "Reach", "fields": ["first_name", "phone", "email", "income"]},
            ],
            "consent": "I agree to be called.",
            "frame_ancestors": ["https://www.acme.example"],
        }
    ],
)
FULL_ORDER = order(
    "shield_fl",
    None,
    status="paused",
    pricing={"type": "bid", "legs": ["exclusive", "shared"], "floor": "5.00", "max_bid": "40.00"},
    priority=50,
    weight=3,
    filters={"all": [{"field": "age", "op": "gte", "value": 21}]},
    geo={"states": ["FL"], "zips": ["33101"], "zip_prefixes": ["331"]},
    caps=[{"kind": "count", "window": "day", "limit": 5}],
    schedule={"timezone": "America/New_York", "hours": {"daily": ["09:00-17:00"]}},
    dedup_days=7,
    test_mode=True,
    timezone="America/Chicago",
    return_window_days=7,
    delivery={
        "ping": {
            "url": "http://127.0.0.1:9/ping",
            "content_type": "json",
            "body": {"fields": [{"from": "zip", "to": "zip"}]},
            "response": {
                "accepted": {"json": "$.status", "equals": ["ok"]},
                "bid": {"json": "$.price"},
            },
        },
        "post": {
            "same_as": "ping",
            "url": "http://127.0.0.1:9/post",
            "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
        },
    },
)
FULL_BUYER = buyer(
    "shield",
    FULL_ORDER,
    name="Shield",
    active=False,
    timezone="America/New_York",
    budget=[{"kind": "spend", "window": "month", "limit": "500.00"}],
    account={"kind": "credit", "credit_limit": "2500.00"},
    return_rule={"max_rate": 25, "min_sales": 10, "days": 14, "action": "demote", "demote_by": 5},
)
FULL_VERTICAL = {
    **AUTO_VERTICAL,
    "fields": [
        *AUTO_VERTICAL["fields"],
        {
            "name": "income",
            "type": "decimal",
            "label": "Yearly income",
            "pii": True,
            "ping": "optional",
            "post": "required",
            "min": 0,
            "max": 1000000,
            "max_length": 12,
        },
    ],
}
FULL_VERTICAL["return_reasons"] = [{"code": "fake", "label": "Fake", "auto_approve": True}]
FULL_VERTICAL["steps"] = [{"type": "phone", "region": "US"}]
FULL_VERTICAL["dispositions"] = [
    {"code": "bought", "label": "Bought", "contacted": True, "converted": True}
]
FULL = {
    "verticals": [FULL_VERTICAL],
    "suppliers": [
        {
            "id": "acme",
            "name": "Acme Media",
            "active": False,
            "return_rule": {"max_rate": 30, "min_sales": 5, "days": 7, "action": "pause"},
            "campaigns": [FULL_CAMPAIGN],
        }
    ],
    "buyers": [FULL_BUYER],
}
#: each kind's entity and the schema model whose every key it sets
CASES: dict[str, type[BaseModel]] = {
    "verticals/auto": VerticalSpec,
    "suppliers/acme": SupplierSpec,
    "campaigns/acme_auto": CampaignSpec,
    "buyers/shield": BuyerSpec,
    "orders/shield_fl": OrderSpec,
}
_CHILDREN = {"campaigns", "orders", "id"}


@pytest.mark.parametrize("path", CASES)
def test_an_edit_form_keeps_every_key_it_does_not_show(market: Market, path: str) -> None:
    market.apply(FULL)
    before = api_entity(market, path)["spec"]
    # the fixture really sets every optional key of the kind (else this proves nothing)
    assert set(CASES[path].model_fields) - _CHILDREN <= set(before), (
        set(CASES[path].model_fields) - _CHILDREN - set(before)
    )

    saved = submit(signed_in(market), f"/ui/{path}/edit", name="Renamed")
    assert saved.status_code == 303, saved.text

    after = api_entity(market, path)["spec"]
    assert after == {**before, "name": "Renamed"}


def test_a_campaign_edit_keeps_its_postback_url(market: Market) -> None:
    market.apply(marketplace([], [campaign(postback_url="https://acme.example/pb")]))
    saved = submit(signed_in(market), "/ui/campaigns/acme_auto/edit", **{"payout.percent": "65"})
    assert saved.status_code == 303, saved.text
    spec: dict[str, Any] = api_entity(market, "campaigns/acme_auto")["spec"]
    assert spec["postback_url"] == "https://acme.example/pb"
    assert spec["payout"] == {"model": "revenue_share", "percent": 65}


def test_switching_an_orders_pricing_drops_the_other_kinds_keys(market: Market) -> None:
    market.apply(FULL)
    saved = submit(
        signed_in(market),
        "/ui/orders/shield_fl/edit",
        # its delivery emptied too: its ping reads a bid, which a fixed price never asks
        **{"pricing.type": "fixed", "pricing.exclusive": "12.00", "delivery": ""},
    )
    assert saved.status_code == 303, saved.text
    spec = api_entity(market, "orders/shield_fl")["spec"]
    assert spec["pricing"] == {"type": "fixed", "exclusive": "12.00"}
    assert spec["geo"] == FULL_ORDER["geo"]


def test_an_orders_strict_floor_shows_ticked_and_survives_a_save(market: Market) -> None:
    strict = {**FULL_ORDER, "pricing": {**FULL_ORDER["pricing"], "floor": {"gt": "10.00"}}}
    market.apply({**FULL, "buyers": [{**FULL_BUYER, "orders": [strict]}]})
    http = signed_in(market)
    page = http.get("/ui/orders/shield_fl/edit")
    inputs = form_inputs(page.text)
    assert inputs["pricing.floor"] == "10.00"
    assert inputs["pricing.floor_strict"] == "on"
    assert "&gt; 10.00" in http.get("/ui/orders/shield_fl").text

    saved = submit(http, "/ui/orders/shield_fl/edit", name="Renamed")
    assert saved.status_code == 303, saved.text
    assert api_entity(market, "orders/shield_fl")["spec"]["pricing"]["floor"] == {"gt": "10.00"}

    # unticked, the floor is "at least" again; ticked on a plain floor, it becomes strict
    fields = {k: v for k, v in form_inputs(http.get("/ui/orders/shield_fl/edit").text).items()}
    fields.pop("pricing.floor_strict")
    saved = http.post("/ui/orders/shield_fl/edit", data=fields)
    assert saved.status_code == 303, saved.text
    assert api_entity(market, "orders/shield_fl")["spec"]["pricing"]["floor"] == "10.00"
    saved = submit(http, "/ui/orders/shield_fl/edit", **{"pricing.floor_strict": "on"})
    assert saved.status_code == 303, saved.text
    assert api_entity(market, "orders/shield_fl")["spec"]["pricing"]["floor"] == {"gt": "10.00"}
