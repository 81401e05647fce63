"""Test a buyer: a sample ping and post to a real mock buyer, shown in full."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from pingtree.config.compile import CompiledConfig, compile_config
from pingtree.config.parse import parse_config
from pingtree.delivery.client import BuyerClient, create_client
from pingtree.delivery.placeholders import TextTemplate
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.try_buyer import try_buyer
from pingtree.mockbuyer import EndpointConfig, MockBuyer

#: the mock buyers live on loopback, which a real deployment never calls
LOOPBACK = ("127.0.0.1",)


def _config(
    buyer: MockBuyer,
    marker: dict[str, object] | None = None,
    chain: list[dict[str, object]] | None = None,
) -> CompiledConfig:
    return compile_config(
        parse_config(
            {
                "verticals": [
                    {
                        "id": "auto",
                        "fields": [
                            {"name": "zip", "type": "zip", "ping": "required"},
                            {"name": "age", "type": "integer", "min": 18, "max": 99},
                            {"name": "phone", "type": "phone", "pii": True, "post": "required"},
                        ],
                    }
                ],
                "buyers": [
                    {
                        "id": "shield",
                        "orders": [
                            {
                                "id": "live",
                                "vertical": "auto",
                                "pricing": {"type": "bid"},
                                "delivery": {
                                    "ping": {
                                        "url": buyer.ping_url("shield"),
                                        "body": {
                                            "fields": [
                                                {"from": "zip", "to": "lead.zip"},
                                                {"from": "age", "to": "lead.age"},
                                            ]
                                        },
                                        "response": {
                                            "accepted": {"json": "$.status", "equals": ["success"]},
                                            "bid": {"json": "$.price"},
                                            "token": {"json": "$.ping_id"},
                                        },
                                    },
                                    "post": {
                                        "same_as": "ping",
                                        "url": buyer.post_url("shield"),
                                        "body": {
                                            "fields": [
                                                {"from": "token", "to": "ping_id"},
                                                {
                                                    "from": "phone",
                                                    "to": "phone",
                                                    "format": "dashed",
                                                },
                                            ]
                                        },
                                        "response": {
                                            "accepted": {"json": "$.status", "equals": ["success"]},
                                            "redirect_url": {"json": "$.redirect_url"},
                                        },
                                        "test_marker": marker,
                                    },
                                    "chain": chain or [],
                                },
                            },
                            {
                                "id": "collects",
                                "vertical": "auto",
                                "pricing": {"type": "fixed", "exclusive": "5"},
                            },
                        ],
                    }
                ],
            }
        )
    )


@pytest.fixture
async def buyer() -> AsyncIterator[MockBuyer]:
    async with MockBuyer(
        {
            "shield": EndpointConfig(),
            "never": EndpointConfig(ping_accept_rate=0),
            # the chain's endpoints: a CRM, a mailer and an alert hook; "refuses" says no
            **{name: EndpointConfig(check_token=False) for name in ("crm", "mailer", "alerts")},
            "refuses": EndpointConfig(check_token=False, post_accept_rate=0),
        }
    ) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[BuyerClient]:
    async with create_client(allow=LOOPBACK) as session:
        yield session


async def test_a_sample_lead_goes_through_ping_and_post(
    buyer: MockBuyer, client: BuyerClient
) -> None:
    exchanges = await try_buyer(
        _config(buyer),
        "live",
        {"age": "42"},
        client=client,
        resolve_secret=lambda name: name,
        post=True,
    )
    ping, post = exchanges
    assert ping["ok"]
    assert post["ok"]
    assert ping["step"] == "ping"
    assert ping["request"]["body"] == '{"lead":{"zip":"33101","age":42}}'
    assert ping["response"]["status"] == 200
    assert ping["parsed"]["accepted"] is True
    assert ping["parsed"]["bid"] == "10.00"
    token = ping["parsed"]["token"]
    assert token in buyer.tokens("shield")
    # the post carries the token the ping answer gave, and the PII the ping never saw
    assert post["request"]["body"] == f'{{"ping_id":"{token}","phone":"305-555-0100"}}'
    assert post["parsed"]["accepted"] is True
    assert post["parsed"]["redirect_url"] == f"https://buyer.invalid/thanks/{token}"
    assert post["error"] == ""
    ping_bodies = [r.body for r in buyer.requests_to("shield", "ping")]
    assert ping_bodies
    assert all(b"555" not in body for body in ping_bodies)


async def test_an_unreachable_buyer_is_shown_not_raised(client: BuyerClient) -> None:
    async with MockBuyer({"shield": EndpointConfig()}) as gone:
        config = _config(gone)
    exchanges = await try_buyer(config, "live", {}, client=client, resolve_secret=str, post=False)
    assert len(exchanges) == 1
    assert exchanges[0]["response"] is None
    assert exchanges[0]["error"] == "no answer: connect"


async def test_what_cannot_be_tested(buyer: MockBuyer, client: BuyerClient) -> None:
    config = _config(buyer)
    with pytest.raises(NotFound, match="no order 'nope'"):
        await try_buyer(config, "nope", {}, client=client, resolve_secret=str)
    with pytest.raises(NotFound, match="buyer collects its leads"):
        await try_buyer(config, "collects", {}, client=client, resolve_secret=str)
    with pytest.raises(InputError) as bad:
        await try_buyer(
            config, "live", {"age": "old", "shoe": "9"}, client=client, resolve_secret=str
        )
    assert sorted(e.loc[-1] for e in bad.value.errors) == ["age", "shoe"]


async def test_a_test_posts_nothing_unless_asked(buyer: MockBuyer, client: BuyerClient) -> None:
    (ping,) = await try_buyer(_config(buyer), "live", {}, client=client, resolve_secret=str)
    assert (ping["step"], ping["ok"]) == ("ping", True)
    assert buyer.requests_to("shield", "post") == []


async def test_a_declined_ping_is_never_followed_by_a_post(
    buyer: MockBuyer, client: BuyerClient
) -> None:
    config = _config(buyer)
    # the same order, its ping sent to an endpoint that declines every lead
    declining = config.deliveries["live"]
    assert declining.ping is not None
    url = TextTemplate((buyer.ping_url("never"),))
    config = dataclasses.replace(
        config,
        deliveries={
            "live": dataclasses.replace(
                declining, ping=dataclasses.replace(declining.ping, url=url)
            )
        },
    )
    ping, post = await try_buyer(config, "live", {}, client=client, resolve_secret=str, post=True)
    assert (ping["ok"], ping["parsed"]["accepted"]) == (False, False)
    assert (post["ok"], post["request"]["url"]) == (False, "")
    assert post["error"] == "not sent: the ping was not accepted"
    assert buyer.requests_to("shield", "post") == []


@pytest.mark.parametrize(
    ("marker", "header", "body_has"),
    [
        ({"header": "X-Test-Lead", "value": "1"}, ("X-Test-Lead", "1"), None),
        ({"field": "test", "value": True}, None, '"test":true'),
    ],
)
async def test_a_test_post_carries_the_steps_test_marker(
    buyer: MockBuyer,
    client: BuyerClient,
    marker: dict[str, object],
    header: tuple[str, str] | None,
    body_has: str | None,
) -> None:
    _, post = await try_buyer(
        _config(buyer, marker), "live", {}, client=client, resolve_secret=str, post=True
    )
    assert post["ok"], post
    (sent,) = buyer.requests_to("shield", "post")
    if header is not None:
        assert sent.headers.get(header[0]) == header[1]
    if body_has is not None:
        assert body_has in sent.body.decode()


def _step(buyer: MockBuyer, name: str, endpoint: str, **more: object) -> dict[str, object]:
    """A chain step posting the phone and the buyer's token to ``endpoint``."""
    return {
        "name": name,
        "url": buyer.post_url(endpoint),
        "body": {"fields": [{"from": "token", "to": "ref"}, {"from": "phone", "to": "phone"}]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
        **more,
    }


async def test_a_test_post_runs_the_chain_marked_as_a_test(
    buyer: MockBuyer, client: BuyerClient
) -> None:
    chain = [
        _step(buyer, "crm", "crm"),  # no marker of its own: the post's header
        _step(
            buyer,
            "mail",
            "mailer",
            continue_on_success=False,
            test_marker={"field": "test", "value": True},
        ),
        _step(buyer, "alert", "alerts"),  # a fallback: the mail's success ends the chain
    ]
    config = _config(buyer, {"header": "X-Test-Lead", "value": "1"}, chain)
    exchanges = await try_buyer(config, "live", {}, client=client, resolve_secret=str, post=True)
    assert [(e["step"], e["ok"], e["skipped"]) for e in exchanges] == [
        ("ping", True, ""),
        ("post", True, ""),
        ("chain.crm", True, ""),
        ("chain.mail", True, ""),
        ("chain.alert", True, "the chain ended with chain.mail's success"),
    ]
    token = exchanges[0]["parsed"]["token"]
    (crm,) = buyer.requests_to("crm", "post")
    assert crm.headers.get("X-Test-Lead") == "1"
    assert crm.body == f'{{"ref":"{token}","phone":"3055550100"}}'.encode()
    (mail,) = buyer.requests_to("mailer", "post")
    assert mail.body == f'{{"ref":"{token}","phone":"3055550100","test":true}}'.encode()
    assert "X-Test-Lead" not in mail.headers  # its own marker, not the post's
    assert buyer.requests_to("alerts") == []
    assert exchanges[3]["request"]["body"] == mail.body.decode()


async def test_a_failed_chain_step_fails_the_test_and_the_chain_goes_on(
    buyer: MockBuyer, client: BuyerClient
) -> None:
    chain = [
        _step(buyer, "crm", "refuses", continue_on_success=False),
        _step(buyer, "mail", "mailer"),
    ]
    config = _config(buyer, {"header": "X-Test-Lead", "value": "1"}, chain)
    exchanges = await try_buyer(config, "live", {}, client=client, resolve_secret=str, post=True)
    crm, mail = exchanges[2:]
    assert (crm["ok"], crm["parsed"]["accepted"], crm["response"]["status"]) == (False, False, 200)
    assert (mail["ok"], mail["skipped"]) == (True, "")  # a failure never ends the chain
    assert len(buyer.requests_to("mailer", "post")) == 1


async def test_no_chain_step_follows_a_post_that_was_not_accepted(
    buyer: MockBuyer, client: BuyerClient
) -> None:
    config = _config(buyer, None, [_step(buyer, "crm", "crm")])
    refusing = config.deliveries["live"]
    url = TextTemplate((buyer.post_url("refuses"),))
    config = dataclasses.replace(
        config,
        deliveries={
            "live": dataclasses.replace(refusing, post=dataclasses.replace(refusing.post, url=url))
        },
    )
    _, post, crm = await try_buyer(config, "live", {}, client=client, resolve_secret=str, post=True)
    assert post["ok"] is False
    assert (crm["step"], crm["ok"], crm["error"]) == (
        "chain.crm",
        False,
        "not sent: the post was not accepted",
    )
    assert buyer.requests_to("crm") == []


async def test_a_ping_only_test_sends_no_chain_step(buyer: MockBuyer, client: BuyerClient) -> None:
    config = _config(buyer, None, [_step(buyer, "crm", "crm")])
    (ping,) = await try_buyer(config, "live", {}, client=client, resolve_secret=str)
    assert ping["ok"]
    assert buyer.requests_to("crm") == []
