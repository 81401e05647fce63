"""The posting instructions tell a seller its campaign's rate limits, its duplicate-ping
setting and how to hash a phone or email for a ping; the documented hash is the one the
ping accepts and dedup finds."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from tests.api.market import PING, Market, buyer, campaign, marketplace, order
from tests.web.session import sign_in

MARKDOWN = "/ui/campaigns/acme_auto/instructions.md"


def test_the_instructions_document_the_limits_the_dedup_and_the_hashing(market: Market) -> None:
    spec = campaign(
        rate_limits={
            "per_minute": 600,
            "per_key": {"per_second": 5, "concurrent": 2},
            "keys": {"0123456789abcdef": {"per_minute": 10}},
        },
        ping_dedup={"window_seconds": 90, "fields": ["zip", "age"]},
        inbound_dedup_days=30,
    )
    market.apply(marketplace([buyer("b", order("o", "20.00"))], [spec]))
    assert sign_in(market.http, "ada").status_code == 303
    text = market.http.get(MARKDOWN).text
    assert "Rate limits of all this campaign's keys together: 600 a minute." in text
    assert "Rate limits of each key: 5 a second, 2 at once." in text
    assert "The key `pt_0123456789abcdef_…` has limits of its own: 10 a minute." in text
    assert "`429` with `Retry-After`" in text
    assert "within 90 s (the same `zip`, `age`" in text
    assert "the same `ping_id` and `bid`" in text
    assert "`phone_hash` and `email_hash`" in text
    assert "within 30 days is `duplicate`" in text


def test_the_documented_hash_command_gives_the_hash_a_ping_is_checked_by(market: Market) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is absent")
    market.apply(marketplace([buyer("b", order("o", "20.00"))], [campaign(inbound_dedup_days=5)]))
    assert sign_in(market.http, "ada").status_code == 303
    text = market.http.get(MARKDOWN).text
    command = "printf %s 3055550142 | sha256sum"
    assert f"`{command}`" in text
    printed = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()[0]
    assert printed == hashlib.sha256(b"3055550142").hexdigest()
    assert market.sell()["status"] == "sold"
    again = market.ping({**PING, "phone_hash": printed})
    assert again["reasons"] == ["duplicate"]
