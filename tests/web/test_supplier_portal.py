"""The supplier portal over plain HTTP (DESIGN §8.5, §9): a supplier's user sees its own
campaigns with their instructions, and manages its own campaigns' keys on the keys page the
staff use, scoped by the principal; another supplier's campaigns and keys are as if they did
not exist, and no buyer name or price shows anywhere in it. A buyer's user is refused."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.web.conftest import PASSWORD
from tests.web.session import csrf_token, sign_in

_NEW_KEY = re.compile(r'id="new-key" readonly size="70" value="(pt_[^"]+)"')
#: what a supplier's user never sees: the other supplier, the buyer, its price
HIDDEN = ("southpaw", "Southpaw Media", "alphains", "Alpha Insurance Co", "41.17")


def _config() -> dict[str, Any]:
    config = marketplace([buyer("alphains", order("alpha_fl", "41.17"), name="Alpha Insurance Co")])
    config["suppliers"] = [
        {
            "id": "northwind",
            "name": "Northwind Leads",
            "campaigns": [campaign("northwind_auto", name="Northwind auto")],
        },
        {
            "id": "southpaw",
            "name": "Southpaw Media",
            "campaigns": [campaign("southpaw_auto", name="Southpaw auto")],
        },
    ]
    return config


def _user(market: Market, username: str, **binding: str) -> str:
    """Make a party's user through the admin API; its id."""
    role = "supplier" if "supplier_id" in binding else "buyer"
    made = market.http.post(
        "/api/v1/admin/users",
        headers=market.admin,
        json={"username": username, "role": role, "password": PASSWORD, **binding},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _ping(market: Market, token: str) -> int:
    with httpx.Client(base_url=market.http.base_url) as seller:
        answer = seller.post(
            "/api/v1/ping",
            json={"fields": PING, "test": True},
            headers={"Authorization": f"Bearer {token}"},
        )
    return answer.status_code


def _unleaked(page: httpx.Response) -> None:
    shown = [word for word in HIDDEN if word in page.text]
    assert not shown, f"{page.request.url} shows {shown}"


def test_a_supplier_user_sees_its_own_campaigns_and_manages_its_own_keys(market: Market) -> None:
    market.apply(_config())
    theirs = market.key("southpaw_auto")  # another supplier's key, made by the operator
    their_id = theirs.split("_")[1]
    _user(market, "sam", supplier_id="northwind")
    http = market.http
    assert sign_in(http, "sam").status_code == 303

    portal = http.get("/ui/my-campaigns")
    assert portal.status_code == 200
    assert "Northwind auto" in portal.text
    assert 'href="/ui/campaigns/northwind_auto/instructions"' in portal.text
    assert 'id="sandbox"' in portal.text
    assert "never sold or sent to a live buyer" in portal.text
    _unleaked(portal)
    nav = re.findall(r'<nav aria-label="Sections">(.*?)</nav>', portal.text, re.S)[0]
    assert 'href="/ui/my-campaigns"' in nav
    assert 'href="/ui/keys"' in nav
    assert "/ui/buyers" not in nav

    keys = http.get("/ui/keys")
    assert keys.status_code == 200
    assert 'value="northwind_auto"' in keys.text
    assert their_id not in keys.text
    _unleaked(keys)
    assert http.get("/ui/keys", params={"campaign_id": "southpaw_auto"}).status_code == 404

    token = csrf_token(keys.text)
    made = http.post(
        "/ui/keys", data={"campaign_id": "northwind_auto", "name": "site", "csrf_token": token}
    )
    assert made.status_code == 200, made.text
    found = _NEW_KEY.search(made.text)
    assert found, "the new key is not shown"
    mine = found.group(1)
    assert _ping(market, mine) == 200
    listed = http.get("/ui/keys").text
    assert mine.split("_")[1] in listed
    assert ">1 key</a>" in http.get("/ui/my-campaigns").text

    # the other supplier's campaign and key: not found, and its key keeps working
    refused = http.post(
        "/ui/keys", data={"campaign_id": "southpaw_auto", "name": "x", "csrf_token": token}
    )
    assert refused.status_code == 404
    for action in ("rotate", "revoke"):
        answer = http.post(
            f"/ui/keys/{their_id}/{action}",
            data={"campaign_id": "southpaw_auto", "csrf_token": token},
        )
        assert answer.status_code == 404, (action, answer.status_code)
        _unleaked(answer)
        # nor through its own campaign: the key is not its campaign's
        answer = http.post(
            f"/ui/keys/{their_id}/{action}",
            data={"campaign_id": "northwind_auto", "csrf_token": token},
        )
        assert answer.status_code == 404, (action, answer.status_code)
    assert _ping(market, theirs) == 200

    # its own: rotated with an overlap, then revoked
    mine_id = mine.split("_")[1]
    rotated = http.post(
        f"/ui/keys/{mine_id}/rotate",
        data={"campaign_id": "northwind_auto", "overlap_hours": "2", "csrf_token": token},
    )
    assert rotated.status_code == 200
    successor = _NEW_KEY.search(rotated.text)
    assert successor
    assert _ping(market, mine) == 200  # still working in its overlap
    revoked = http.post(
        f"/ui/keys/{successor.group(1).split('_')[1]}/revoke",
        data={"campaign_id": "northwind_auto", "csrf_token": token},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert _ping(market, successor.group(1)) == 401
    assert "instructions" in http.get("/ui/campaigns/northwind_auto/instructions").text
    assert http.get("/ui/campaigns/southpaw_auto/instructions").status_code == 403


def test_a_buyer_user_has_no_supplier_portal_and_no_keys(market: Market) -> None:
    market.apply(_config())
    _user(market, "bea", buyer_id="alphains")
    assert sign_in(market.http, "bea").status_code == 303
    assert market.http.get("/ui/my-campaigns").status_code == 403
    assert market.http.get("/ui/keys").status_code == 403
    page = market.http.get("/ui/leads")
    nav = re.findall(r'<nav aria-label="Sections">(.*?)</nav>', page.text, re.S)[0]
    assert "/ui/my-campaigns" not in nav
    assert "/ui/keys" not in nav


def test_staff_keep_every_campaigns_keys_and_no_portal_entry(market: Market) -> None:
    market.apply(_config())
    market.key("southpaw_auto")
    assert sign_in(market.http, "ana").status_code == 303
    keys = market.http.get("/ui/keys").text
    assert 'value="southpaw_auto"' in keys
    assert 'value="northwind_auto"' in keys
    nav = re.findall(r'<nav aria-label="Sections">(.*?)</nav>', keys, re.S)[0]
    assert "/ui/my-campaigns" not in nav
    assert market.http.get("/ui/my-campaigns").status_code == 200


def test_a_supplier_user_reveals_its_own_leads_pii_audited_and_no_one_elses(
    market: Market,
) -> None:
    market.apply(_config())
    ours = market.direct_post({**PING, **CONTACT}, "northwind_auto")["lead_id"]
    theirs = market.direct_post({**PING, **CONTACT}, "southpaw_auto")["lead_id"]
    sam = _user(market, "sam", supplier_id="northwind")
    http = market.http
    assert sign_in(http, "sam").status_code == 303
    page = http.get(f"/ui/leads/{ours}")
    assert page.status_code == 200
    assert "0142" not in page.text  # masked until revealed
    assert f'action="/ui/leads/{ours}/reveal"' in page.text
    token = csrf_token(page.text)
    shown = http.post(f"/ui/leads/{ours}/reveal", data={"csrf_token": token})
    assert shown.status_code == 200
    assert "0142" in shown.text
    _unleaked(shown)
    refused = http.post(f"/ui/leads/{theirs}/reveal", data={"csrf_token": token})
    assert refused.status_code == 404
    audit = http.get("/api/v1/admin/audit/pii-reveals", headers=market.admin).json()
    assert [(row["lead_id"], row["viewer"]) for row in audit] == [(ours, f"user:{sam}")]


def _figures(html: str) -> dict[tuple[str, str], list[str]]:
    """The figures table: (campaign, sub_id) → its cells from pings to net payout."""
    section = html[html.index('id="figures"') : html.index('id="sandbox"')]
    body = section[section.index("<tbody>") : section.index("</tbody>")]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        if len(cells) == 13:  # not the "no traffic" row
            found[(cells[1], cells[2])] = cells[3:]
    return found


def test_a_supplier_user_sees_its_figures_by_day_campaign_and_sub_id(market: Market) -> None:
    config = _config()
    config["buyers"][0]["orders"][0]["filters"] = {
        "all": [{"field": "state", "op": "eq", "value": "FL"}]
    }
    market.apply(config)
    for campaign_id, sub_id in (
        ("northwind_auto", "pub-1"),
        ("northwind_auto", "pub-1"),
        ("northwind_auto", "pub-2"),
        ("southpaw_auto", "pub-9"),
    ):
        fields = {**PING, "sub_id": sub_id}
        pinged = market.ping(fields, campaign_id)
        assert pinged["status"] == "accepted", pinged
        sold = market.post(pinged["ping_id"], {**fields, **CONTACT}, campaign_id)
        assert sold["status"] == "sold", sold
    # a ping no order takes (Texas): accepted by none, rejected with its reason
    unsold = market.ping(
        {**PING, "state": "TX", "zip": "75001", "sub_id": "pub-2"}, "northwind_auto"
    )
    assert unsold["status"] == "rejected", unsold
    _user(market, "sam", supplier_id="northwind")
    assert sign_in(market.http, "sam").status_code == 303
    page = market.http.get("/ui/my-campaigns", params={"days": 1})
    assert page.status_code == 200
    _unleaked(page)
    figures = _figures(page.text)
    # pings, accepted, acceptance, leads, posts, sold, returned, payout (70 % of 41.17 a
    # lead), chargebacks, net payout
    assert figures == {
        ("northwind_auto", "pub-1"): [
            *("2", "2", "100.0 %", "2", "2", "2", "0"),
            *("57.62", "0.00", "57.62"),
        ],
        ("northwind_auto", "pub-2"): [
            *("2", "1", "50.0 %", "1", "1", "1", "0"),
            *("28.81", "0.00", "28.81"),
        ],
    }
    reasons = page.text[page.text.index("Rejection reasons") :]
    assert unsold["reasons"][0] in reasons
    assert "82.36" not in page.text  # the revenue of the two pub-1 leads
    refused = market.http.get("/ui/my-campaigns", params={"days": 0})
    assert refused.status_code == 400
    assert "days" in refused.text
    in_test = market.http.get("/ui/my-campaigns", params={"test": "true"}).text
    assert _figures(in_test) == {}
    assert "No traffic in these days." in in_test


def test_a_supplier_user_finds_a_person_among_its_own_leads_only(market: Market) -> None:
    """Its scope may see its consumers' PII, so it may look one up by email: its own leads
    with that email, never another supplier's."""
    market.apply(_config())
    ours = market.direct_post({**PING, **CONTACT}, "northwind_auto")["lead_id"]
    theirs = market.direct_post({**PING, **CONTACT}, "southpaw_auto")["lead_id"]
    _user(market, "sam", supplier_id="northwind")
    http = market.http
    assert sign_in(http, "sam").status_code == 303
    asked = http.get("/ui/leads", params={"email": CONTACT["email"], "status": ""})
    assert asked.status_code == 303
    page = http.get(asked.headers["location"])
    assert page.status_code == 200
    assert ours in page.text
    assert theirs not in page.text
    _unleaked(page)
