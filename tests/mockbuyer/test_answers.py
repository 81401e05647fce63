"""What a well-behaved mock buyer answers: bids, formats, field names, tokens, rejections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import orjson
import pytest
from lxml import etree

from tests.mockbuyer.conftest import StartBuyer


async def call(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, str, bytes]:
    async with http.post(url, **kwargs) as response:
        return response.status, response.headers["Content-Type"], await response.read()


async def ping_json(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    status, ctype, body = await call(http, url, json={"zip": "10001"})
    assert (status, ctype) == (200, "application/json")
    answer: dict[str, Any] = orjson.loads(body)
    return answer


async def test_default_ping_bids_a_json_number_with_a_token(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"acme": {"bid": {"kind": "fixed", "amount": "12.5"}}})

    status, _, body = await call(http, buyer.ping_url("acme"), json={"zip": "10001"})

    assert status == 200
    assert body.startswith(b'{"status":"success","price":12.50,"ping_id":"')
    token = orjson.loads(body)["ping_id"]
    assert buyer.tokens("acme") == [token]


async def test_bid_as_string_with_chosen_decimals(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {
            "s": {"bid": {"kind": "fixed", "amount": "50"}, "bid_format": "string"},
            "d": {"bid": {"kind": "fixed", "amount": "7.1234"}, "bid_decimals": 3},
        }
    )

    assert (await ping_json(http, buyer.ping_url("s")))["price"] == "50.00"
    assert b'"price":7.123' in (await call(http, buyer.ping_url("d")))[2]


async def test_uniform_bids_stay_in_range_and_vary(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {"u": {"bid": {"kind": "uniform", "min": "5", "max": "6"}, "bid_format": "string"}}
    )

    prices = [Decimal((await ping_json(http, buyer.ping_url("u")))["price"]) for _ in range(30)]

    assert all(Decimal(5) <= p <= Decimal(6) for p in prices)
    assert len(set(prices)) > 10
    assert all(p == p.quantize(Decimal("0.01")) for p in prices)


async def test_no_bid_leaves_the_price_out(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"n": {"bid": {"kind": "none"}}})

    answer = await ping_json(http, buyer.ping_url("n"))

    assert answer["status"] == "success"
    assert "price" not in answer
    assert "ping_id" in answer


async def test_declined_ping_as_a_zero_bid(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {"z": {"ping_accept_rate": 0, "decline_as_zero": True, "bid_format": "string"}}
    )

    answer = await ping_json(http, buyer.ping_url("z"))

    assert answer == {"status": "success", "price": "0.00"}
    assert buyer.tokens("z") == []


async def test_accept_rate_is_seeded_and_roughly_respected(http, start_buyer: StartBuyer):
    config = {"r": {"ping_accept_rate": 0.3}}
    first = await start_buyer(config, seed=42)
    second = await start_buyer(config, seed=42)
    other = await start_buyer(config, seed=43)

    async def outcomes(buyer: Any) -> list[str]:
        return [(await ping_json(http, buyer.ping_url("r")))["status"] for _ in range(300)]

    a, b, c = await outcomes(first), await outcomes(second), await outcomes(other)

    assert a == b  # same seed, same sequence
    assert a != c
    assert 0.2 < a.count("success") / len(a) < 0.4
    assert set(a) == {"success", "failure"}


async def test_custom_field_names_nest_and_extra_fields(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {
            "lp": {
                "fields": {
                    "status": "result.status",
                    "accepted": True,
                    "price": "result.bid",
                    "token": "lp_ping_id",
                },
                "extra": {"version": 2},
                "bid_format": "string",
            }
        }
    )

    answer = await ping_json(http, buyer.ping_url("lp"))

    assert answer["result"] == {"status": True, "bid": "10.00"}
    assert answer["version"] == 2
    assert len(answer["lp_ping_id"]) == 16


async def test_xml_answer(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {"x": {"format": "xml", "xml_root": "PingResponse", "fields": {"token": "Lead_ID"}}}
    )

    status, ctype, body = await call(http, buyer.ping_url("x"), data=b"<ping/>")

    assert (status, ctype) == (200, "application/xml")
    root = etree.fromstring(body)
    assert root.tag == "PingResponse"
    assert root.findtext("status") == "success"
    assert root.findtext("price") == "10.00"
    assert root.findtext("Lead_ID") == buyer.tokens("x")[0]


async def test_form_answer(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"f": {"format": "form", "fields": {"accepted": "Y"}}})

    status, ctype, body = await call(http, buyer.ping_url("f"), data={"zip": "10001"})

    assert (status, ctype) == (200, "application/x-www-form-urlencoded")
    fields = parse_qs(body.decode())
    assert fields["status"] == ["Y"]
    assert fields["price"] == ["10.00"]
    assert fields["ping_id"] == buyer.tokens("f")


async def test_text_answer_from_a_template(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {
            "t": {"format": "text", "fields": {"accepted": "ACCEPTED"}},
            "tt": {"format": "text", "text_template": "OK $price"},
        }
    )

    _, ctype, body = await call(http, buyer.ping_url("t"))
    _, _, custom = await call(http, buyer.ping_url("tt"))

    assert ctype == "text/plain; charset=utf-8"
    assert body.decode() == f"ACCEPTED|10.00|{buyer.tokens('t')[0]}||"
    assert custom == b"OK 10.00"


async def test_post_with_the_pinged_token_is_accepted(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"acme": {}})
    token = (await ping_json(http, buyer.ping_url("acme")))["ping_id"]

    status, _, body = await call(
        http, buyer.post_url("acme"), json={"ping_id": token, "email": "a@b.c"}
    )

    assert status == 200
    assert orjson.loads(body) == {
        "status": "success",
        "redirect_url": f"https://buyer.invalid/thanks/{token}",
        "lead_id": "L00000001",
    }


async def test_post_with_an_unknown_token_is_rejected(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"acme": {}})
    await ping_json(http, buyer.ping_url("acme"))

    unknown = await call(http, buyer.post_url("acme"), json={"ping_id": "0123456789abcdef"})
    missing = await call(http, buyer.post_url("acme"), json={"email": "a@b.c"})
    not_json = await call(
        http, buyer.post_url("acme"), data=b"{", headers={"Content-Type": "application/json"}
    )

    for status, _, body in (unknown, missing, not_json):
        assert status == 200
        assert orjson.loads(body) == {"status": "failure", "reason": "unknown ping id"}


async def test_token_is_not_shared_between_endpoints(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"a": {}, "b": {}})
    token = (await ping_json(http, buyer.ping_url("a")))["ping_id"]

    _, _, body = await call(http, buyer.post_url("b"), json={"ping_id": token})

    assert orjson.loads(body)["status"] == "failure"


@pytest.mark.parametrize(
    ("config", "how"),
    [
        ({"token_in": "query", "token_name": "pid"}, "query"),
        ({"token_in": "header", "token_name": "X-Ping-Id"}, "header"),
        ({"token_in": "path"}, "path"),
        ({"token_name": "lead.ping_id"}, "nested_json"),
        ({"token_name": "PingID"}, "form"),
        ({"token_name": "PingID"}, "xml"),
    ],
)
async def test_token_found_where_the_buyer_expects_it(
    http, start_buyer: StartBuyer, config: dict[str, Any], how: str
):
    buyer = await start_buyer({"b": config})
    tok = (await ping_json(http, buyer.ping_url("b")))["ping_id"]
    url = buyer.post_url("b")
    options: dict[str, dict[str, Any]] = {
        "query": {"params": {"pid": tok}},
        "header": {"headers": {"X-Ping-Id": tok}},
        "path": {},
        "nested_json": {"json": {"lead": {"ping_id": tok}}},
        "form": {"data": {"PingID": tok, "zip": "10001"}},
        "xml": {
            "data": f"<lead><meta><PingID>{tok}</PingID></meta></lead>".encode(),
            "headers": {"Content-Type": "text/xml"},
        },
    }
    kwargs = options[how]
    if how == "path":
        url = f"{url}/{tok}"

    accepted = await call(http, url, **kwargs)
    wrong = await call(http, buyer.post_url("b") + ("/nope" if how == "path" else ""))

    assert orjson.loads(accepted[2])["status"] == "success"
    assert orjson.loads(wrong[2])["status"] == "failure"


async def test_single_use_tokens_refuse_a_second_post(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"once": {"single_use_tokens": True}, "many": {}})
    once = (await ping_json(http, buyer.ping_url("once")))["ping_id"]
    many = (await ping_json(http, buyer.ping_url("many")))["ping_id"]

    first = await call(http, buyer.post_url("once"), json={"ping_id": once})
    second = await call(http, buyer.post_url("once"), json={"ping_id": once})
    repeats = [await call(http, buyer.post_url("many"), json={"ping_id": many}) for _ in range(2)]

    assert orjson.loads(first[2])["status"] == "success"
    assert orjson.loads(second[2]) == {"status": "failure", "reason": "duplicate ping id"}
    assert [orjson.loads(r[2])["status"] for r in repeats] == ["success", "success"]


async def test_post_without_token_check(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"direct": {"check_token": False, "redirect_url": None}})

    _, _, body = await call(http, buyer.post_url("direct"), json={"email": "a@b.c"})

    assert orjson.loads(body) == {"status": "success", "lead_id": "L00000001"}


async def test_post_accept_rate(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"p": {"check_token": False, "post_accept_rate": 0.5}})

    statuses = [
        orjson.loads((await call(http, buyer.post_url("p"), json={}))[2])["status"]
        for _ in range(200)
    ]

    assert 0.35 < statuses.count("success") / 200 < 0.65


@pytest.mark.parametrize(("style", "expected_status"), [("body", 200), ("4xx", 422), ("404", 404)])
async def test_rejection_styles(http, start_buyer: StartBuyer, style: str, expected_status: int):
    buyer = await start_buyer(
        {
            "no": {
                "ping_accept_rate": 0,
                "reject_style": style,
                "reject_status": 422,
                "reject_reason": "no coverage",
                "fields": {"rejected": "N"},
            }
        }
    )

    status, _, body = await call(http, buyer.ping_url("no"))

    assert status == expected_status
    assert orjson.loads(body) == {"status": "N", "reason": "no coverage"}


async def test_accepted_status_may_be_201(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"c": {"accept_status": 201}})

    status, _, _ = await call(http, buyer.ping_url("c"))

    assert status == 201


async def test_gzip_answer(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"gz": {"gzip": True}})

    async with http.post(buyer.ping_url("gz"), auto_decompress=False) as response:
        raw = await response.read()
        encoding = response.headers["Content-Encoding"]
    answer = await ping_json(http, buyer.ping_url("gz"))  # aiohttp inflates it

    assert encoding == "gzip"
    assert raw[:2] == b"\x1f\x8b"
    assert answer["status"] == "success"


async def test_unknown_endpoint_or_path_is_404(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"acme": {}})

    assert (await call(http, buyer.ping_url("nobody")))[0] == 404
    assert (await call(http, f"{buyer.url}/acme/other"))[0] == 404
    assert (await call(http, buyer.url))[0] == 404


async def test_configure_changes_behaviour_live_and_keeps_tokens(http, start_buyer: StartBuyer):
    from pingtree.mockbuyer import EndpointConfig

    buyer = await start_buyer({"acme": {}})
    token = (await ping_json(http, buyer.ping_url("acme")))["ping_id"]

    buyer.configure("acme", EndpointConfig(format="form", ping_accept_rate=0))
    buyer.configure("new", EndpointConfig())
    _, ctype, body = await call(http, buyer.ping_url("acme"))
    _, _, post = await call(http, buyer.post_url("acme"), json={"ping_id": token})

    assert ctype == "application/x-www-form-urlencoded"
    assert parse_qs(body.decode())["status"] == ["failure"]
    assert parse_qs(post.decode())["status"] == ["success"]
    assert (await ping_json(http, buyer.ping_url("new")))["status"] == "success"


async def test_echo_lead_says_back_what_the_buyer_read(http, start_buyer: StartBuyer):
    echo = {"check_token": False, "echo_lead": True}
    buyer = await start_buyer(
        {
            "j": echo,
            "x": {**echo, "format": "xml", "post_accept_rate": 0.0, "fields": {"echo": "reason"}},
        }
    )
    name = "O'Brien & <Co> 🦊"

    _, _, body = await call(
        http, buyer.post_url("j") + "?src=web", json={"lead": {"name": name, "age": 34}}
    )
    assert orjson.loads(body)["echo"] == f"web | {name} | 34"

    # an XML document carried in a form field is read too; the echo takes the reason's place
    document = f'<lead id="7"><name>{name.replace("&", "&amp;").replace("<", "&lt;")}</name></lead>'
    _, _, body = await call(http, buyer.post_url("x"), data={"xml": document})
    root = etree.fromstring(body)
    assert root.findtext("status") == "failure"
    assert root.findtext("reason") == f"7 | {name}"
