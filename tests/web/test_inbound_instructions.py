"""The posting instructions of a campaign with inbound profiles (issue 17): a section per
seller's own format, whose examples (in the seller's names, values and format) sell test
leads through a real server when run with curl as printed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from lxml import etree

from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.api.test_inbound_profiles import FIXTURES
from tests.web.test_posting_instructions import signed_in


def _sections(markdown: str) -> dict[str, list[tuple[str, str]]]:
    """profile id → its examples' (curl command, answer) in order, from the Markdown."""
    found: dict[str, list[tuple[str, str]]] = {}
    for part in markdown.split("\n## Your own format: `")[1:]:
        profile_id = part.split("`", 1)[0]
        blocks = re.findall(r"```(\w+)\n(.*?)\n```", part, re.S)
        commands = [text for language, text in blocks if language == "sh"]
        answers = [text for language, text in blocks if language in ("json", "xml")]
        found[profile_id] = list(zip(commands, answers, strict=True))
    return found


def _run(command: str, key: str) -> str:
    done = subprocess.run(
        ["bash", "-c", command],
        env={**os.environ, "PINGTREE_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def _named(text: str, name: str) -> str:
    if text.lstrip().startswith("<"):
        return etree.fromstring(text.encode()).findtext(name) or ""
    return str(json.loads(text)[name])


def test_the_instructions_show_each_format_and_their_examples_sell(market: Market) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is absent")  # pragma: no cover
    profiles = [json.loads(path.read_text())["profile"] for path in sorted(FIXTURES.glob("*.json"))]
    market.apply(
        marketplace(
            [buyer("shield", order("shield_test", "20.00", test_mode=True))],
            [campaign(inbound=profiles)],
        )
    )
    staff = signed_in(market, "otto")
    markdown = staff.get("/ui/campaigns/acme_auto/instructions.md").text
    sections = _sections(markdown)
    assert set(sections) == {p["id"] for p in profiles}
    key = market.key()
    for profile in profiles:
        answer = profile.get("answer", {})
        names = {"ping_id": "ping_id", "status": "status", **answer.get("names", {})}
        words = {"accepted": "accepted", "sold": "sold", **answer.get("statuses", {})}
        (ping, ping_shown), (post, _), (direct, sold_shown) = sections[profile["id"]]
        # the examples are in the seller's own names: none of ours that it renames
        for theirs, ours in profile["aliases"].items():
            if ours in ("zip", "phone", "email") and theirs != ours:
                assert theirs in ping + post + direct, (profile["id"], theirs)
        assert _named(ping_shown, names["status"]) == words["accepted"]
        pinged = _run(ping, key)
        assert _named(pinged, names["status"]) == words["accepted"], (profile["id"], pinged)
        ping_id = _named(pinged, names["ping_id"])
        for command in (post.replace("PING_ID", ping_id), direct):
            answered = _run(command, key)
            assert _named(answered, names["status"]) == words["sold"], (profile["id"], answered)
        assert _named(sold_shown, names["status"]) == words["sold"]
    page = staff.get("/ui/campaigns/acme_auto/instructions").text
    document = market.http.get(
        "/api/v1/campaigns/acme_auto/openapi.json", headers=market.admin
    ).json()
    for profile in profiles:
        assert f'id="profile-{profile["id"]}"' in page
        # the campaign's OpenAPI document says where each format is taken
        assert f"/api/v1/in/acme_auto/{profile['id']}/" in document["info"]["description"]
