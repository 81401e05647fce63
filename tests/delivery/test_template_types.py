"""A template's values are escaped for the type its body is sent as (DESIGN §8.6): a
lead's value can add no key, field or element to what the buyer receives, and a type no
template can be escaped for (JSON above all) is refused when the configuration is applied."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from lxml import etree

from pingtree.delivery.client import create_client
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.fanout import HttpBids
from pingtree.domain.orders import Order, OrderStatus, Pricing, PricingKind
from pingtree.domain.outcomes import Outcome
from pingtree.mockbuyer import EndpointConfig, MockBuyer
from tests.api.conftest import SECRET, market_settings
from tests.api.market import buyer, marketplace, order
from tests.delivery.support import compile_spec, resolve_secret
from tests.support.processes import server_env

#: closes the buyer's string and adds a key, in JSON; a field, in a form; a column, in CSV
HOSTILE = 'a", "bid": "999&bid=999,\n"x'

JSON_RULES = {"accepted": {"json": "$.status", "equals": ["success"]}, "bid": {"json": "$.price"}}


def _ping(template: str, content_type: str = "text", **step: Any) -> dict[str, Any]:
    return {
        "url": "https://api.buyer.example/ping",
        "content_type": content_type,
        "body": {"template": template},
        "response": JSON_RULES,
        **step,
    }


def _issues(ping: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DeliveryConfigError) as caught:
        compile_spec({"ping": ping, "post": {"url": "https://b.example/post"}})
    return dict(caught.value.issues)


# --- refused when applied ------------------------------------------------------------------------


JSON_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "text/json",
    "application/vnd.buyer.lead+json",
]


@pytest.mark.parametrize("declared", JSON_TYPES)
def test_a_text_template_sent_as_json_is_refused(declared: str) -> None:
    ping = _ping('{"city": "{{ city }}"}', headers={"Content-Type": declared})
    message = _issues(ping)["ping.body.template"]
    assert declared.split(";")[0].lower() in message
    assert "headers.Content-Type" in message
    assert "build a JSON body from fields" in message


def test_an_xml_template_sent_as_json_or_a_form_is_refused() -> None:
    for declared in ("application/json", "application/x-www-form-urlencoded"):
        ping = _ping("<c>{{ city }}</c>", "xml", headers={"content-type": declared})
        assert declared in _issues(ping)["ping.body.template"]


@pytest.mark.parametrize("declared", ["text/html", "application/octet-stream", "multipart/x"])
def test_a_type_no_template_can_escape_for_is_refused(declared: str) -> None:
    message = _issues(_ping("{{ city }}", headers={"Content-Type": declared}))["ping.body.template"]
    assert f"sent as {declared} (headers.Content-Type)" in message
    assert "cannot be escaped" in message


@pytest.mark.parametrize(
    ("template", "shape"),
    [
        ('{"city": "{{ city }}"}', "looks like JSON"),
        ('  [{"city": "{{ city }}"}]', "looks like JSON"),
        ('["{{ city }}"]', "looks like JSON"),
        ("<lead><city>{{ city }}</city></lead>", "looks like XML"),
        ('<?xml version="1.0"?><lead>{{ city }}</lead>', "looks like XML"),
    ],
)
def test_a_plain_text_template_shaped_as_json_or_xml_is_refused(template: str, shape: str) -> None:
    # many buyers parse the body whatever its Content-Type says: text/plain is no way round
    assert shape in _issues(_ping(template))["ping.body.template"]
    in_form = {"template": template, "form_field": "data", "document": "text"}
    assert shape in _issues(_ping(template, "form", body=in_form))["ping.body.template"]


@pytest.mark.parametrize(
    "template", ["{{ city }},{{ zip }}", "{% if city %}c={{ city }}{% endif %}"]
)
def test_a_template_starting_with_jinja_is_plain_text(template: str) -> None:
    assert compile_spec({"ping": _ping(template), "post": {"url": "https://b.example/post"}}).ping


def test_a_template_body_content_type_is_fixed_text() -> None:
    ping = _ping("{{ city }}", headers={"Content-Type": "{kind}"}, vars={"kind": "text/plain"})
    assert "fixed text" in _issues(ping)["ping.headers.Content-Type"]
    ping = _ping("{{ city }}", headers={"Content-Type": {"secret": "shield_token"}})
    assert "fixed text" in _issues(ping)["ping.headers.Content-Type"]


def test_types_a_template_can_be_escaped_for_compile() -> None:
    for declared in ("text/plain", "text/csv", "application/x-www-form-urlencoded", "text/xml"):
        ping = _ping("{{ city }}", headers={"Content-Type": declared})
        assert compile_spec({"ping": ping, "post": {"url": "https://b.example/post"}}).ping
    xml = _ping("<c>{{ city }}</c>", "xml", headers={"Content-Type": "application/soap+xml"})
    assert compile_spec({"ping": xml, "post": {"url": "https://b.example/post"}}).ping


def test_apply_refuses_a_text_template_sent_as_json(tmp_path: Path) -> None:
    env = server_env(market_settings(tmp_path), SECRET)
    step = _ping('{"city": "{{ city }}"}', headers={"Content-Type": "application/json"})
    delivery = {"ping": step, "post": {"url": "https://api.buyer.example/post"}}
    config = tmp_path / "market.yaml"
    config.write_text(
        yaml.safe_dump(
            marketplace([buyer("b", order("o", None, pricing={"type": "bid"}, delivery=delivery))])
        )
    )
    refused = subprocess.run(
        [sys.executable, "-m", "pingtree", "apply", str(config)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert refused.returncode == 1, refused.stdout
    assert "buyers[0].orders[0].delivery.ping.body.template" in refused.stderr
    assert "application/json" in refused.stderr


# --- escaped, as a real buyer receives it ---------------------------------------------------


@pytest.fixture
async def mock() -> AsyncIterator[MockBuyer]:
    configs = {"b": EndpointConfig.model_validate({"bid": {"kind": "fixed", "amount": "9.00"}})}
    async with MockBuyer(configs) as running:
        yield running


async def _sent(mock: MockBuyer, ping: dict[str, Any], city: str) -> bytes:
    """The body the buyer received for a ping of ``city`` by ``ping``'s template."""
    delivery = compile_spec(
        {"ping": {**ping, "url": mock.ping_url("b")}, "post": {"url": mock.post_url("b")}}
    )
    live = Order(
        id="o",
        buyer_id="b",
        vertical_id="auto",
        name="o",
        status=OrderStatus.ACTIVE,
        pricing=Pricing(PricingKind.BID),
    )
    client = create_client(allow=("127.0.0.1",))
    bids = HttpBids(client, resolve_secret)
    mock.reset()
    try:
        (result,) = await bids.collect(
            [live], {"city": city, "zip": "33101"}, time.monotonic() + 2, {"o": delivery}
        )
    finally:
        await bids.close()
        await client.close()
    assert result.outcome is Outcome.BID, result
    (request,) = mock.requests_to("b", "ping")
    return request.body


async def test_form_values_are_percent_encoded(mock: MockBuyer) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = await _sent(mock, _ping("city={{ city }}&zip={{ zip }}", headers=headers), HOSTILE)
    assert parse_qs(body.decode(), strict_parsing=True) == {"city": [HOSTILE], "zip": ["33101"]}


async def test_csv_values_are_quoted(mock: MockBuyer) -> None:
    headers = {"Content-Type": "text/csv"}
    body = await _sent(mock, _ping("{{ zip }},{{ city }},end", headers=headers), HOSTILE)
    assert list(csv.reader(body.decode().splitlines(keepends=True))) == [["33101", HOSTILE, "end"]]


async def test_a_text_template_sent_as_xml_is_escaped_for_xml(mock: MockBuyer) -> None:
    hostile = "</city><bid>999</bid><city>"
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    body = await _sent(
        mock, _ping("<lead><city>{{ city }}</city></lead>", headers=headers), hostile
    )
    root = etree.fromstring(body)
    assert [(child.tag, child.text) for child in root] == [("city", hostile)]


async def test_plain_text_is_sent_as_written(mock: MockBuyer) -> None:
    body = await _sent(mock, _ping("city: {{ city }}"), "O'Brien & Co")
    assert body == b"city: O'Brien & Co"
