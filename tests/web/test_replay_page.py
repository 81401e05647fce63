"""The replay's page and API route (issue 17): the same view, the staff only; a draft
raising a fixed order's price moves the pings it now wins, with both traces."""

from __future__ import annotations

import httpx
import yaml

from tests.api.market import Market, buyer, marketplace, order
from tests.web.session import csrf_token, sign_in

LIVE = marketplace(
    [buyer("first", order("alpha", "20.00")), buyer("second", order("beta", "18.00"))]
)
DRAFT = marketplace(
    [buyer("first", order("alpha", "20.00")), buyer("second", order("beta", "22.00"))]
)


def _traffic(market: Market) -> list[str]:
    market.apply(LIVE)
    ids = [market.ping()["ping_id"] for _ in range(3)]
    for ping_id in ids:  # stored (the trace reads them once written)
        assert market.ping_trace(ping_id)["auction"]["winners"] == ["alpha"]
    return ids


def test_the_api_route_and_the_page_show_one_replay(market: Market) -> None:
    ids = _traffic(market)
    route = "/api/v1/admin/replay"
    body = yaml.safe_dump(DRAFT)
    answer = market.http.post(route, content=body, headers=market.admin, params={"since": "1d"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["pings"], report["changed"]) == (3, 3)
    assert report["total"]["difference"]["revenue"] == "6.00"
    assert {c["ping_id"] for c in report["changes"]} == set(ids)
    for change in report["changes"]:
        assert "order beta: fixed 18.00 → fixed 22.00" in change["why"]
    drill = market.http.post(
        route, content=body, headers=market.admin, params={"since": "1d", "ping_id": ids[0]}
    ).json()["ping"]
    assert drill["trace_before"]["winners"] == ["alpha"]
    assert drill["trace_after"]["winners"] == ["beta"]

    # bad input: 4xx naming the field, never a 500
    bad_since = market.http.post(route, content=body, headers=market.admin, params={"since": "x"})
    assert bad_since.status_code == 422
    assert "since" in bad_since.text
    broken = yaml.safe_dump(
        marketplace([buyer("second", order("beta", "22.00", vertical="nowhere"))])
    )
    bad_draft = market.http.post(route, content=broken, headers=market.admin)
    assert bad_draft.status_code == 422
    assert "buyers[0].orders[0]" in bad_draft.text
    key = {"Authorization": f"Bearer {market.key()}"}
    assert market.http.post(route, content=body, headers=key).status_code == 403

    # the page: the same figures, for the staff only
    with httpx.Client(base_url=str(market.http.base_url), timeout=30) as http:
        assert sign_in(http, "ana").status_code == 303
        form = http.get("/ui/replay")
        assert form.status_code == 200
        page = http.post(
            "/ui/replay",
            data={
                "csrf_token": csrf_token(form.text),
                "draft": body,
                "since": "1d",
                "ping_id": ids[1],
            },
        )
        assert page.status_code == 200, page.text
        assert "<strong>3</strong> change hands" in page.text
        assert f'data-ping="{ids[0]}"' in page.text
        assert "drill-down" in page.text
