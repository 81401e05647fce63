"""After a waterfall (the winner's post rejected, the lead sold to the next bidder), the
lead's trace names the final winner and says why, in the API and on the lead's page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, marketplace, order
from tests.support.buyers import running_buyers
from tests.web.session import sign_in

_TAKES = {"check_token": False}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    refuses = {**_TAKES, "post_accept_rate": 0.0, "reject_reason": "outside our area"}
    with running_buyers({"taker": _TAKES, "refuser": refuses}) as running:
        yield running


def _posting(mock: MockBuyer, name: str, price: str) -> dict[str, object]:
    step = {
        "url": mock.post_url(name),
        "content_type": "json",
        "timeout_ms": 300,
        "body": {"fields": [{"from": "zip", "to": "zip"}]},
        "response": {
            "accepted": {"json": "$.status", "equals": ["success"]},
            "reason": {"json": "$.reason"},
        },
    }
    return buyer(name, order(f"{name}_fixed", price, delivery={"post": step}))


def test_the_trace_names_the_final_winner_and_the_rejection(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(
        marketplace([_posting(mock, "refuser", "30.00"), _posting(mock, "taker", "20.00")])
    )
    answer = market.sell()
    assert answer["status"] == "sold", answer
    auction = market.lead(answer["lead_id"])["auction"]
    # the ping's auction still says who won it; the lead's trace says who bought it
    assert auction["winners"] == ["refuser_fixed"]
    assert auction["final_winners"] == ["taker_fixed"]
    assert auction["sale_note"] == "sold to taker_fixed after refuser_fixed rejected the post"
    sign_in(market.http, "ada")
    page = market.http.get(f"/ui/leads/{answer['lead_id']}")
    assert page.status_code == 200
    assert "Final winner" in page.text
    assert "sold to taker_fixed after refuser_fixed rejected the post" in page.text


def test_without_a_rejection_the_trace_has_no_sale_note(market: Market, mock: MockBuyer) -> None:
    market.apply(marketplace([_posting(mock, "taker", "20.00")]))
    answer = market.sell()
    assert answer["status"] == "sold", answer
    auction = market.lead(answer["lead_id"])["auction"]
    assert auction["winners"] == ["taker_fixed"]
    assert "sale_note" not in auction
    assert "final_winners" not in auction
