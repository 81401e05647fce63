"""Ping → post → sale through the real HTTP API."""

from __future__ import annotations

from decimal import Decimal

from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order


def test_ping_then_post_sells_to_the_best_price(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "25.00")),
                buyer("acorn", order("acorn_all", "18.00")),
            ]
        )
    )
    pinged = market.ping()
    assert pinged["status"] == "accepted"
    # the seller is told its payout (70 % of 25.00), never the buyer's price
    assert pinged["bid"] == "17.50"
    assert pinged["expires_at"] == "2026-11-23T15:05:00Z"

    sold = market.post(pinged["ping_id"])
    assert sold == {"status": "sold", "lead_id": sold["lead_id"], "price": "17.50"}

    lead = market.lead(sold["lead_id"])
    assert lead["status"] == "sold"
    assert (lead["revenue"], lead["cost"], lead["profit"]) == ("25.00", "17.50", "7.50")
    assert [(s["order_id"], s["revenue"], s["cost"]) for s in lead["sales"]] == [
        ("shield_fl", "25.00", "17.50")
    ]
    # PII is encrypted at rest and masked unless revealed; normalized when revealed
    assert lead["fields"]["phone"] != CONTACT["phone"]
    revealed = market.lead(sold["lead_id"], reveal=True)["fields"]
    assert (revealed["phone"], revealed["email"]) == ("3055550142", "ana@example.com")
    # every reveal is audited: which lead, to whom (the admin token), never the values
    audit = market.http.get("/api/v1/admin/audit/pii-reveals", headers=market.admin).json()
    assert [(a["lead_id"], a["viewer"]) for a in audit] == [
        (sold["lead_id"], f"key:{market.admin_token.split('_')[1]}")
    ]


def test_the_trace_explains_every_candidate(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "25.00")),
                buyer(
                    "texan",
                    order(
                        "texan_tx",
                        "40.00",
                        filters={"all": [{"field": "state", "op": "in", "value": ["TX"]}]},
                    ),
                ),
                buyer("sleepy", order("sleepy_paused", "90.00", status="paused")),
            ]
        )
    )
    pinged = market.ping()
    outcomes = market.outcomes(pinged["ping_id"])
    assert outcomes == {
        "shield_fl": ("fixed", ""),
        "texan_tx": ("filter", "state in [TX]"),
        "sleepy_paused": ("paused", "order paused"),
    }
    trace = market.ping_trace(pinged["ping_id"])["auction"]
    assert trace["winners"] == ["shield_fl"]
    assert trace["revenue"] == "25.00"


def test_ping_with_no_buyer_is_rejected(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer(
                    "texan",
                    order(
                        "texan_tx",
                        "40.00",
                        filters={"all": [{"field": "state", "op": "in", "value": ["TX"]}]},
                    ),
                )
            ]
        )
    )
    answer = market.ping()
    assert answer["status"] == "rejected"
    assert answer["reasons"] == ["no_eligible_buyers"]
    assert "bid" not in answer


def test_shared_lead_sells_to_two_buyers(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("a", order("a_shared", None, pricing={"type": "fixed", "shared": "12.00"})),
                buyer("b", order("b_shared", None, pricing={"type": "fixed", "shared": "10.00"})),
                buyer("c", order("c_shared", None, pricing={"type": "fixed", "shared": "8.00"})),
                buyer("x", order("x_excl", "21.00")),
            ],
            [campaign(max_sells=2)],
        )
    )
    pinged = market.ping()
    # shared legs 12 + 10 = 22 beat the best exclusive 21
    assert pinged["bid"] == "15.40"
    sold = market.post(pinged["ping_id"])
    assert sold["status"] == "sold"
    sales = market.lead(sold["lead_id"])["sales"]
    assert sorted((s["order_id"], s["leg"], s["revenue"], s["cost"]) for s in sales) == [
        ("a_shared", "shared", "12.00", "8.40"),
        ("b_shared", "shared", "10.00", "7.00"),
    ]


def test_exclusive_wins_when_it_beats_the_shared_legs(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("a", order("a_shared", None, pricing={"type": "fixed", "shared": "12.00"})),
                buyer("b", order("b_shared", None, pricing={"type": "fixed", "shared": "10.00"})),
                buyer("x", order("x_excl", "30.00")),
            ],
            [campaign(max_sells=2)],
        )
    )
    sold = market.sell()
    sales = market.lead(sold["lead_id"])["sales"]
    assert [(s["order_id"], s["leg"]) for s in sales] == [("x_excl", "exclusive")]


def test_a_buyer_wins_once_however_many_orders_it_has(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer(
                    "big",
                    order("big_1", None, pricing={"type": "fixed", "shared": "15.00"}),
                    order("big_2", None, pricing={"type": "fixed", "shared": "14.00"}),
                ),
                buyer("small", order("small_1", None, pricing={"type": "fixed", "shared": "5.00"})),
            ],
            [campaign(max_sells=2)],
        )
    )
    sold = market.sell()
    assert sorted(s["buyer_id"] for s in market.lead(sold["lead_id"])["sales"]) == ["big", "small"]


def test_post_may_omit_pinged_fields(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    pinged = market.ping()
    sold = market.post(pinged["ping_id"], {"age": 34, **CONTACT})
    assert sold["status"] == "sold"


def test_post_disagreeing_with_its_ping_is_rejected_naming_the_fields(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    pinged = market.ping()
    answer = market.post(pinged["ping_id"], {**PING, **CONTACT, "zip": "33102", "credit": "poor"})
    assert answer["status"] == "rejected"
    assert answer["reasons"] == ["ping_post_mismatch"]
    assert answer["fields"] == ["credit", "zip"]
    # the same value, differently written, is no mismatch: "fl" normalizes to "FL"
    again = market.ping()
    assert market.post(again["ping_id"], {**PING, **CONTACT, "state": "fl"})["status"] == "sold"


def test_double_post_returns_the_first_answer_and_sells_once(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    pinged = market.ping()
    first = market.post(pinged["ping_id"])
    second = market.post(pinged["ping_id"])
    assert second == first
    different = market.post(pinged["ping_id"], {**PING, **CONTACT, "first_name": "Bea"})
    assert different["status"] == "rejected"
    assert different["reasons"] == ["ping_already_used"]
    sales = market.http.get("/api/v1/admin/sales", headers=market.admin).json()
    assert len(sales) == 1


def test_expired_ping_cannot_be_posted(market: Market) -> None:
    market.apply(
        marketplace([buyer("shield", order("shield_fl", "25.00"))], [campaign(ping_ttl_seconds=60)])
    )
    pinged = market.ping()
    assert pinged["expires_at"] == "2026-11-23T15:01:00Z"
    market.clock.advance(seconds=61)
    answer = market.post(pinged["ping_id"])
    assert answer == {
        "status": "rejected",
        "ping_id": pinged["ping_id"],
        "reasons": ["ping_expired"],
    }


def test_unknown_and_foreign_ping_ids(market: Market) -> None:
    market.apply(
        marketplace(
            [buyer("shield", order("shield_fl", "25.00"))],
            [campaign(), campaign("acme_other")],
        )
    )
    assert market.post("0190-nope")["reasons"] == ["ping_unknown"]
    theirs = market.ping(campaign_id="acme_other")
    # another campaign's ping is as unknown as a made-up one
    assert market.post(theirs["ping_id"])["reasons"] == ["ping_unknown"]


def test_posting_a_rejected_ping(market: Market) -> None:
    market.apply(marketplace([]))
    pinged = market.ping()
    assert pinged["status"] == "rejected"
    assert market.post(pinged["ping_id"])["reasons"] == ["ping_rejected"]


def test_repeated_ping_with_the_same_key_gets_the_first_answer(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    headers = {**market.seller(), "Idempotency-Key": "lead-42"}
    first = market.http.post("/api/v1/ping", json={"fields": PING}, headers=headers).json()
    second = market.http.post("/api/v1/ping", json={"fields": PING}, headers=headers).json()
    assert second == first
    pings = market.http.get("/api/v1/admin/pings", headers=market.admin).json()
    assert len(pings) == 1


def test_direct_post_sells_a_full_lead(market: Market) -> None:
    market.apply(
        marketplace(
            [buyer("shield", order("shield_fl", "25.00")), buyer("acorn", order("acorn", "30.00"))]
        )
    )
    sold = market.direct_post()
    assert sold == {"status": "sold", "lead_id": sold["lead_id"], "price": "21.00"}
    lead = market.lead(sold["lead_id"])
    assert lead["ping_id"] is None
    assert [s["order_id"] for s in lead["sales"]] == ["acorn"]
    assert {c["order_id"]: c["outcome"] for c in lead["auction"]["candidates"]} == {
        "shield_fl": "fixed",
        "acorn": "fixed",
    }


def test_direct_post_with_an_idempotency_key_sells_once(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    headers = {**market.seller(), "Idempotency-Key": "form-7"}
    body = {"fields": {**PING, **CONTACT}}
    first = market.http.post("/api/v1/leads", json=body, headers=headers).json()
    second = market.http.post("/api/v1/leads", json=body, headers=headers).json()
    assert first["status"] == "sold"
    assert second == first
    other = market.http.post(
        "/api/v1/leads", json={"fields": {**PING, **CONTACT, "age": 40}}, headers=headers
    ).json()
    assert other["reasons"] == ["duplicate"]


def test_direct_post_is_refused_by_a_ping_post_only_campaign(market: Market) -> None:
    market.apply(
        marketplace([buyer("shield", order("shield_fl", "25.00"))], [campaign(modes=["ping_post"])])
    )
    assert market.direct_post()["reasons"] == ["mode_not_allowed"]


def test_form_encoded_ping_and_post(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    pinged = market.http.post(
        "/api/v1/ping",
        data={"zip": "33101", "state": "FL", "age": "34", "api_key": market.key()},
    ).json()
    assert pinged["status"] == "accepted"
    sold = market.http.post(
        "/api/v1/post",
        data={"ping_id": pinged["ping_id"], "age": "34", **CONTACT},
        headers={"X-Api-Key": market.key()},
    ).json()
    assert sold["status"] == "sold"
    outcome = market.http.get(f"/api/v1/leads/{sold['lead_id']}", headers=market.seller()).json()
    assert outcome == sold


def test_test_leads_reach_only_test_orders_and_change_nothing(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer(
                    "live",
                    order(
                        "live_order", "30.00", caps=[{"kind": "count", "window": "day", "limit": 1}]
                    ),
                ),
                buyer("qa", order("qa_order", "1.00", test_mode=True)),
            ]
        )
    )
    pinged = market.ping(test=True)
    assert pinged["test"] is True
    assert Decimal(pinged["bid"]) == Decimal("0.70")
    sold = market.post(pinged["ping_id"])
    assert sold["test"] is True
    assert [s["order_id"] for s in market.lead(sold["lead_id"])["sales"]] == ["qa_order"]
    # the live order's cap of one is untouched by the test lead
    assert market.sell()["status"] == "sold"
