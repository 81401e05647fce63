"""A campaign's posting instructions in the admin UI: the page and its Markdown list every
field of the vertical with what each stage requires (as the campaign's OpenAPI document
does), their curl examples sell a test lead through a real server to a real mock buyer,
and only signed-in staff read them."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pingtree.api.instructions_views import may_read_instructions
from pingtree.domain.fields import TRACKING_FIELDS
from pingtree.domain.outcomes import Reason
from pingtree.mockbuyer import MockBuyer
from pingtree.principals import Principal
from tests.api.market import AUTO_VERTICAL, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers
from tests.web.session import sign_in

PAGE = "/ui/campaigns/acme_auto/instructions"
MARKDOWN = PAGE + ".md"
_OWN = [f["name"] for f in AUTO_VERTICAL["fields"]]
_ALL = _OWN + [spec.name for spec in TRACKING_FIELDS]
_PII = {f["name"] for f in AUTO_VERTICAL["fields"] if f.get("pii")} | {
    spec.name for spec in TRACKING_FIELDS if spec.pii
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"taker": {"check_token": False}}) as running:
        yield running


def instructions_market(mock: MockBuyer, **campaign_spec: Any) -> dict[str, Any]:
    """A campaign requiring ``credit`` in a ping, and a test order that takes every lead
    and posts it over HTTP to the mock buyer ``taker``."""
    post = {
        "url": mock.post_url("taker"),
        "content_type": "json",
        "timeout_ms": 2000,
        "body": {"fields": [{"from": name, "to": name} for name in _OWN]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    taker = order("taker_test", "18.00", test_mode=True, delivery={"post": post})
    spec = campaign(ping_options={"required_fields": ["credit"]}, **campaign_spec)
    return marketplace([buyer("taker", taker)], [spec])


def signed_in(market: Market, username: str = "ada") -> httpx.Client:
    assert sign_in(market.http, username).status_code == 303
    return market.http


def _page_rows(page: str) -> dict[str, tuple[str, str, str]]:
    """field → (ping, post, PII) from the page's fields table."""
    rows = {}
    for row in re.findall(r'<tr data-field="([^"]+)">(.*?)</tr>', page, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1], re.S)
        ]
        rows[row[0]] = (cells[2], cells[3], cells[4])
    return rows


def _markdown_rows(text: str) -> dict[str, tuple[str, str, str]]:
    section = text.split("## Fields", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        found = re.match(r"\| `([a-z0-9_]+)`[^|]*\| [a-z]+ \| (\w+) \| (\w+) \| (\w*) \|", line)
        if found:
            rows[found.group(1)] = (found.group(2), found.group(3), found.group(4))
    return rows


def _expected() -> dict[str, tuple[str, str, str]]:
    expected = {}
    for name in _ALL:
        pii = name in _PII
        ping = "never" if pii else "required" if name in ("zip", "state", "credit") else "optional"
        post = (
            "required"
            if name in ("zip", "state", "age", "first_name", "phone", "email")
            else "optional"
        )
        expected[name] = (ping, post, "yes" if pii else "")
    return expected


def test_the_page_and_the_markdown_list_every_field_with_its_requirements(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(instructions_market(mock))
    http = signed_in(market)
    page = http.get(PAGE)
    assert page.status_code == 200, page.text
    text = http.get(MARKDOWN)
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/markdown")
    assert "attachment" in text.headers["content-disposition"]

    expected = _expected()
    assert _page_rows(page.text) == expected
    assert _markdown_rows(text.text) == expected
    # as the campaign's OpenAPI document says, stage by stage
    document = market.http.get(
        "/api/v1/campaigns/acme_auto/openapi.json", headers=market.admin
    ).json()
    schemas = document["components"]["schemas"]
    for stage, column in (("PingFields", 0), ("PostFields", 1)):
        required = {n for n, row in expected.items() if row[column] == "required"}
        assert set(schemas[stage]["required"]) == required, stage
        sent = {n for n, row in expected.items() if row[column] != "never"}
        assert set(schemas[stage]["properties"]) == sent, stage
    # allowed values, bounds, the reasons with their meanings, no key
    assert "<code>excellent</code>, <code>good</code>" in page.text
    assert "16 ≤ value ≤ 100" in page.text
    assert "16 ≤ value ≤ 100" in text.text
    for reason in Reason:
        assert f'data-reason="{reason}"' in page.text
        assert f"| `{reason}` |" in text.text
    assert "`missing_required_fields`, naming the absent fields in `missing`" in text.text
    assert "pt_" not in page.text
    assert "pt_" not in text.text
    assert "Idempotency-Key" in text.text
    assert "ping_already_used" in text.text
    assert f"{market.http.base_url}".rstrip("/") + "/api/v1/ping" in text.text
    assert "Print / save as PDF" in page.text


def _examples(markdown: str) -> dict[str, dict[str, str]]:
    """operation title → its JSON body, curl commands and answer, from the Markdown."""
    found = {}
    for section in markdown.split("\n### ")[1:]:
        title = section.splitlines()[0]
        blocks = re.findall(r"```(\w+)\n(.*?)\n```", section, re.S)
        if len(blocks) == 4:
            (_, body), (_, curl_json), (_, curl_form), (_, answer) = blocks
            found[title] = {"body": body, "json": curl_json, "form": curl_form, "answer": answer}
    return found


def _curl(command: str, key: str) -> dict[str, Any]:
    done = subprocess.run(
        ["bash", "-c", command],
        env={**os.environ, "PINGTREE_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return dict(json.loads(done.stdout))


def test_the_examples_sell_a_test_lead_through_a_real_server(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(instructions_market(mock))
    mock.reset()
    markdown = signed_in(market, "otto").get(MARKDOWN).text
    examples = _examples(markdown)
    assert set(examples) == {"Ping", "Post (after an accepted ping)", "Direct post"}
    key = market.key()
    # the campaign's OpenAPI document shows the very same examples
    document = market.http.get(
        "/api/v1/campaigns/acme_auto/openapi.json", headers=market.admin
    ).json()
    for path, title in (
        ("/api/v1/ping", "Ping"),
        ("/api/v1/post", "Post (after an accepted ping)"),
        ("/api/v1/leads", "Direct post"),
    ):
        content = document["paths"][path]["post"]["requestBody"]["content"]
        shown = content["application/json"]["examples"]["test_lead"]["value"]
        assert shown == json.loads(examples[title]["body"]), path

    # the JSON ping example's body, as a seller's code would send it
    body = json.loads(examples["Ping"]["body"])
    pinged = market.ping(body["fields"], test=body["test"])
    assert pinged["status"] == "accepted", pinged
    assert pinged["test"] is True

    if shutil.which("curl") is None:
        pytest.skip("curl is absent")  # pragma: no cover
    post = examples["Post (after an accepted ping)"]
    sold = []
    for variant in ("json", "form"):
        answer = _curl(examples["Ping"][variant], key)
        assert answer["status"] == "accepted", (variant, answer)
        command = post[variant].replace("PING_ID", answer["ping_id"])
        sold.append(_curl(command, key))
        sold.append(_curl(examples["Direct post"][variant], key))
    assert [answer["status"] for answer in sold] == ["sold"] * 4, sold
    assert all(answer["test"] is True for answer in sold)
    # the mock buyer got each lead, contact details and all
    received = [json.loads(r.body) for r in mock.requests_to("taker", "post")]
    assert len(received) == 4
    assert all(lead["email"] == "ana.lima@example.com" for lead in received)
    assert all(lead["credit"] == "excellent" for lead in received)


def test_only_signed_in_staff_read_the_instructions(market: Market, mock: MockBuyer) -> None:
    market.apply(instructions_market(mock))
    for path in (PAGE, MARKDOWN):
        refused = market.http.get(path)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/ui/login")
    for username in ("ada", "otto", "ana"):
        market.http.cookies.clear()
        http = signed_in(market, username)
        assert http.get(PAGE).status_code == 200, username
        assert http.get(MARKDOWN).status_code == 200, username
        campaign_page = http.get("/ui/campaigns/acme_auto").text
        assert f'href="{PAGE}"' in campaign_page
    assert market.http.get("/ui/campaigns/nope/instructions").status_code == 404
    assert market.http.get("/ui/campaigns/nope/instructions.md").status_code == 404


def test_the_page_follows_the_configuration(market: Market, mock: MockBuyer) -> None:
    market.apply(
        instructions_market(mock, modes=["direct_post"], test_mode=True, ping_ttl_seconds=90)
    )
    http = signed_in(market)
    page = html.unescape(http.get(PAGE).text)
    assert "/api/v1/leads" in page
    assert "/api/v1/ping" not in page
    assert 'id="example-direct_post"' in page
    assert 'id="example-ping"' not in page
    assert "This campaign is in test mode" in page
    market.apply(instructions_market(mock, ping_ttl_seconds=90))
    page = html.unescape(http.get(PAGE).text)
    assert "holds for 90 s" in page
    assert "/api/v1/ping" in page


def _viewer(role: str, supplier_id: str | None = None) -> Principal:
    return Principal("user", "u1", "someone", role, supplier_id=supplier_id)


@pytest.mark.parametrize(
    ("viewer", "allowed"),
    [
        (_viewer("admin"), True),
        (_viewer("operator"), True),
        (_viewer("analyst"), True),
        (_viewer("supplier", "acme"), True),
        (_viewer("supplier", "rival"), False),
        (_viewer("supplier"), False),
        (_viewer("buyer"), False),
        (_viewer("campaign"), False),
    ],
)
def test_who_reads_a_campaigns_instructions(viewer: Principal, allowed: bool) -> None:
    # staff read any campaign's; a supplier only its own (the portals' scope)
    assert may_read_instructions(viewer, "acme") is allowed
