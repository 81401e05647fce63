"""Win and loss notice URLs (``delivery.notices``): what the spec accepts and how the macros
are filled."""

from __future__ import annotations

import pytest

from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.notices import fill_notice_url, notice_url_issue
from tests.delivery.support import compile_spec

_POST = {"url": "https://buyer.example/post", "response": {"accepted": {"status": [200]}}}
_PING = {
    "url": "https://buyer.example/ping",
    "response": {"accepted": {"status": [200]}, "bid": {"json": "$.price"}},
}


def test_the_macros_are_filled_url_encoded() -> None:
    url = fill_notice_url(
        "https://b.example/win?id={ping_id}&p={price}&r={reason}", "p-1", "12.50", "a b&c=d/e"
    )
    assert url == "https://b.example/win?id=p-1&p=12.50&r=a%20b%26c%3Dd%2Fe"


@pytest.mark.parametrize(
    ("url", "issue"),
    [
        ("https://b.example/w?e={email}", "unknown macro {email}"),
        ("https://b.example/w?e={ping_id", "a brace without its macro"),
        ("ftp://b.example/w", "not an http(s) URL with a host"),
        ("https://{reason}.example/w", "a macro in the host"),
    ],
)
def test_a_bad_notice_url_is_named(url: str, issue: str) -> None:
    found = notice_url_issue(url)
    assert found is not None
    assert found.startswith(issue)


def test_a_good_notice_url_passes() -> None:
    assert notice_url_issue("https://b.example:8443/w/{ping_id}?p={price}&r={reason}") is None


def test_notices_compile_with_their_timeout() -> None:
    notices = {"win": "https://b.example/w?id={ping_id}", "timeout_ms": 500}
    compiled = compile_spec({"ping": _PING, "post": _POST, "notices": notices}).notices
    assert compiled is not None
    assert (compiled.win, compiled.loss, compiled.timeout_s) == (notices["win"], None, 0.5)


def test_notices_need_a_ping_step_and_good_urls() -> None:
    raw = {"post": _POST, "notices": {"loss": "https://b.example/l?x={phone}"}}
    with pytest.raises(DeliveryConfigError) as caught:
        compile_spec(raw)
    paths = [path for path, _ in caught.value.issues]
    assert paths == ["notices", "notices.loss"]
