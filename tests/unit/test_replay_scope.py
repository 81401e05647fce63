"""What a draft leaves alone (issue 17, ``flows.replay_scope``): the verticals whose
pings need not be replayed twice, until the two replays' caps part."""

from __future__ import annotations

import copy
from typing import Any

from pingtree.config.parse import parse_config
from pingtree.flows.replay_scope import Reach, ReplayScope
from tests.api.market import AUTO_VERTICAL, buyer, campaign, order

HOME = {**copy.deepcopy(AUTO_VERTICAL), "id": "home", "name": "Home"}


def market(auto_price: str = "20.00", home_price: str = "15.00") -> dict[str, Any]:
    return {
        "verticals": [copy.deepcopy(AUTO_VERTICAL), copy.deepcopy(HOME)],
        "suppliers": [
            {
                "id": "acme",
                "name": "Acme",
                "campaigns": [campaign(), campaign("acme_home", vertical="home")],
            }
        ],
        "buyers": [
            buyer("cars", order("cars_auto", auto_price)),
            buyer("houses", order("houses_home", home_price, vertical="home")),
            buyer(
                "both", order("both_auto", "10.00"), order("both_home", "10.00", vertical="home")
            ),
        ],
    }


def scope(draft: dict[str, Any]) -> ReplayScope:
    return ReplayScope.of(parse_config(market()), parse_config(draft))


def test_a_changed_order_touches_its_vertical_only() -> None:
    assert scope(market()).clean == {"auto", "home"}
    assert scope(market(auto_price="25.00")).clean == {"home"}
    assert scope(market(home_price="9.00")).clean == {"auto"}


def test_a_changed_buyer_touches_every_vertical_it_buys_in() -> None:
    draft = market()
    draft["buyers"][2]["budget"] = [{"kind": "count", "window": "day", "limit": 5}]
    assert scope(draft).clean == set()
    draft = market()
    draft["buyers"][0]["budget"] = [{"kind": "count", "window": "day", "limit": 5}]
    assert scope(draft).clean == {"home"}


def test_a_campaign_and_a_vertical_touch_their_own() -> None:
    draft = market()
    draft["suppliers"][0]["campaigns"][1]["max_sells"] = 2
    assert scope(draft).clean == {"auto"}
    draft = market()
    draft["verticals"][0]["fields"][2]["max"] = 90
    assert scope(draft).clean == {"home"}


def test_caps_parting_on_a_buyer_dirty_its_verticals() -> None:
    found = scope(market())
    found.parted(["cars"])
    assert found.clean == {"home"}
    found.parted(["both"])
    assert found.clean == set()


def test_reach_names_the_changed_orders_and_the_campaigns_replayed_whole() -> None:
    found = scope(market(auto_price="25.00"))
    assert found.reach("acme_auto", "auto") is Reach.ORDERS
    assert found.orders_changed("auto") == {"cars_auto"}
    assert found.reach("acme_home", "home") is Reach.CLEAN
    draft = market()
    draft["suppliers"][0]["campaigns"][1]["max_sells"] = 2
    found = scope(draft)
    assert found.reach("acme_home", "home") is Reach.FULL
    assert found.reach("acme_auto", "auto") is Reach.CLEAN


def test_a_changed_buyer_and_parted_caps_change_all_its_orders() -> None:
    draft = market()
    draft["buyers"][2]["budget"] = [{"kind": "count", "window": "day", "limit": 5}]
    found = scope(draft)
    assert found.orders_changed("auto") == {"both_auto"}
    assert found.orders_changed("home") == {"both_home"}
    found = scope(market())
    found.parted(["houses"])
    assert found.reach("acme_home", "home") is Reach.ORDERS
    assert found.orders_changed("home") == {"houses_home"}


def test_parted_caps_leave_alone_the_orders_without_a_cap_or_a_budget() -> None:
    # "both" has no cap: its sales parting leave its orders' room the same on both sides
    found = scope(market())
    found.parted(["both"], capped=frozenset({"cars_auto"}))
    assert found.clean == {"auto", "home"}
    assert found.orders_changed("auto") == set()
    found.parted(["cars", "both"], capped=frozenset({"cars_auto"}))
    assert found.clean == {"home"}
    assert found.orders_changed("auto") == {"cars_auto"}
