"""The order page's "Test this buyer": a sample ping only, unless the post is ticked, and
then only after an accepted ping (issue 16: a live buyer booked a test lead as a sale)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, marketplace, order
from tests.support.buyers import running_buyers
from tests.web.session import csrf_token, sign_in


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"live": {}, "never": {"ping_accept_rate": 0}}) as running:
        yield running


def _order(mock: MockBuyer, name: str) -> dict[str, object]:
    response = {"accepted": {"json": "$.status", "equals": ["success"]}}
    delivery = {
        "ping": {
            "url": mock.ping_url(name),
            "body": {"fields": [{"from": "zip", "to": "zip"}]},
            "response": {**response, "token": {"json": "$.ping_id"}},
        },
        "post": {
            "url": mock.post_url(name),
            "test_marker": {"header": "X-Test-Lead", "value": "1"},
            "body": {"fields": [{"from": "token", "to": "ping_id"}]},
            "response": response,
        },
    }
    return order(f"{name}_fixed", "20.00", delivery=delivery)


def _test(market: Market, order_id: str, **form: str) -> str:
    page = market.http.get(f"/ui/orders/{order_id}")
    assert page.status_code == 200, page.text
    assert '<input type="checkbox" name="send_post" value="true">' in page.text  # unticked
    tested = market.http.post(
        f"/ui/orders/{order_id}/test", data={"csrf_token": csrf_token(page.text), **form}
    )
    assert tested.status_code == 200, tested.text
    return tested.text


def test_the_page_sends_a_ping_only_by_default(market: Market, mock: MockBuyer) -> None:
    market.apply(marketplace([buyer("live", _order(mock, "live"))]))
    assert sign_in(market.http, "ada").status_code == 303
    mock.reset()
    _test(market, "live_fixed")
    assert len(mock.requests_to("live", "ping")) == 1
    assert mock.requests_to("live", "post") == []


def test_a_ticked_post_follows_an_accepted_ping_marked_as_a_test(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(
        marketplace([buyer("live", _order(mock, "live")), buyer("never", _order(mock, "never"))])
    )
    assert sign_in(market.http, "ada").status_code == 303
    mock.reset()
    _test(market, "live_fixed", send_post="true")
    (post,) = mock.requests_to("live", "post")
    assert post.headers.get("X-Test-Lead") == "1"
    shown = _test(market, "never_fixed", send_post="true")
    assert mock.requests_to("never", "post") == []
    assert "not sent: the ping was not accepted" in shown
