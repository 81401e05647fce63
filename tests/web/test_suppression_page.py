"""The suppression lists page: an admin or an operator uploads a CSV and drops a list, an
analyst may not; the numbers uploaded are never shown back."""

from __future__ import annotations

import httpx

from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.web.session import csrf_token, sign_in

CSV = b"phone,email\n(305) 555-0142,zeb@example.org\n212-555-0199,\nwho knows,\n"


def test_staff_who_operate_upload_and_drop_a_list(market: Market) -> None:
    base = str(market.http.base_url)
    with httpx.Client(base_url=base, timeout=30) as browser:
        assert sign_in(browser, "otto").status_code == 303  # an operator
        assert 'href="/ui/suppression"' in browser.get("/ui").text
        page = browser.get("/ui/suppression")
        assert page.status_code == 200
        assert "No suppression list yet." in page.text
        files = {"csv_file": ("dnc.csv", CSV, "text/csv")}
        forged = browser.post("/ui/suppression", data={"list_id": "dnc"}, files=files)
        assert forged.status_code == 403  # no CSRF token
        form = {"list_id": "dnc", "csrf_token": csrf_token(page.text)}
        done = browser.post("/ui/suppression", data=form, files=files)
        assert done.status_code == 303, done.text
        shown = browser.get(done.headers["location"])
        assert "Read 3 phone(s) and email(s), 3 new; 1 line(s) held neither" in shown.text
        assert "<code>dnc</code>" in shown.text
        assert "555" not in shown.text
        assert "zeb@" not in shown.text

        # the API reads the same list
        lists = market.http.get("/api/v1/admin/suppression", headers=market.admin).json()
        assert [(row["list_id"], row["entries"]) for row in lists] == [("dnc", 3)]

        empty = browser.post(
            "/ui/suppression",
            data=form,
            files={"csv_file": ("x.csv", b"nothing here\n", "text/csv")},
        )
        assert empty.status_code == 422
        assert "no phone number or email address" in empty.text

        # a campaign checking the list: its lead's page shows the step's verdict
        market.apply(
            marketplace(
                [buyer("shield", order("any"))],
                [campaign(steps=[{"type": "suppression", "lists": ["dnc"]}])],
            )
        )
        refused = market.direct_post({**PING, **CONTACT, "phone": "305-555-0142"})
        assert refused["reasons"] == ["suppressed"]
        lead_page = browser.get(f"/ui/leads/{refused['lead_id']}").text
        assert "Quality steps" in lead_page
        assert "suppression.matched = true" in lead_page
        assert "on suppression list dnc" in lead_page

        dropped = browser.post(
            "/ui/suppression/dnc/delete", data={"csrf_token": form["csrf_token"]}
        )
        assert dropped.status_code == 303
        assert "Dropped a list of 3 entries." in browser.get(dropped.headers["location"]).text
    assert market.http.get("/api/v1/admin/suppression", headers=market.admin).json() == []


def test_an_analyst_may_not_see_suppression_lists(market: Market) -> None:
    base = str(market.http.base_url)
    with httpx.Client(base_url=base, timeout=30) as browser:
        assert sign_in(browser, "ana").status_code == 303
        assert 'href="/ui/suppression"' not in browser.get("/ui").text
        assert browser.get("/ui/suppression").status_code == 403
