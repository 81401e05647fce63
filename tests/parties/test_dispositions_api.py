"""Dispositions over real HTTP: a buyer's key reports and reads what became of the leads it
bought (only those: another buyer's lead is 404); unknown codes and bad values are 422s
naming the field; a vertical's own codes replace the default ones; a supplier's key sees
its own leads' codes only; the report by supplier, campaign and ``sub_id`` counts the
latest report of each sold lead, to the cent, on both engines."""

from __future__ import annotations

from typing import Any

from tests.api.market import Market
from tests.parties.market import FLORIDA, TEXAS, bearer, party_key, sell, two_buyers


def _post(market: Market, key: str, lead_id: str, **body: Any) -> Any:
    return market.http.post(
        f"/api/v1/buyer/leads/{lead_id}/dispositions", headers=bearer(key), json=body
    )


def test_a_buyer_key_reports_dispositions_of_its_own_leads_only(market: Market) -> None:
    market.apply(two_buyers())
    alpha_lead = sell(market, FLORIDA, "north_auto", "(305) 555-0101", sub_id="fb1")
    bravo_lead = sell(market, TEXAS, "south_auto", "(305) 555-0102")
    alpha = party_key(market, "buyer", "alpha")

    quoted = _post(market, alpha, alpha_lead, code="quoted", value="1100", note="called back")
    assert quoted.status_code == 201, quoted.text
    assert (quoted.json()["code"], quoted.json()["value"]) == ("quoted", "1100.00")
    sold = _post(market, alpha, alpha_lead, code="sold", value=1250.5)
    assert sold.status_code == 201, sold.text
    assert sold.json()["value"] == "1250.50"  # a JSON number read as its decimal text

    listed = market.http.get(
        f"/api/v1/buyer/leads/{alpha_lead}/dispositions", headers=bearer(alpha)
    )
    assert listed.status_code == 200, listed.text
    assert [(d["code"], d["converted"]) for d in listed.json()] == [
        ("sold", True),
        ("quoted", False),
    ]
    assert listed.json()[1]["note"] == "called back"
    assert listed.json()[0]["reported_by"].startswith("key:")

    # another buyer's lead is not found, to read or to report
    assert _post(market, alpha, bravo_lead, code="sold").status_code == 404
    other = market.http.get(f"/api/v1/buyer/leads/{bravo_lead}/dispositions", headers=bearer(alpha))
    assert other.status_code == 404
    # a campaign key and no key are refused
    refused = market.http.post(
        f"/api/v1/buyer/leads/{alpha_lead}/dispositions",
        headers=market.seller("north_auto"),
        json={"code": "sold"},
    )
    assert refused.status_code == 403
    anonymous = market.http.post(
        f"/api/v1/buyer/leads/{alpha_lead}/dispositions", json={"code": "sold"}
    )
    assert anonymous.status_code == 401

    # staff see every buyer's reports with the buyer; the admin API reports for a buyer
    staff = market.http.get(f"/api/v1/admin/leads/{alpha_lead}/dispositions", headers=market.admin)
    assert [d["buyer_id"] for d in staff.json()] == ["alpha", "alpha"]
    made = market.http.post(
        f"/api/v1/admin/leads/{bravo_lead}/dispositions",
        headers=market.admin,
        json={"code": "no_contact"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["buyer_id"] == "bravo"


def test_bad_codes_and_values_are_422s_naming_the_field(market: Market) -> None:
    market.apply(two_buyers())
    lead_id = sell(market, FLORIDA, "north_auto", "(305) 555-0101")
    alpha = party_key(market, "buyer", "alpha")

    unknown = _post(market, alpha, lead_id, code="married", value="-5")
    assert unknown.status_code == 422, unknown.text
    errors = {tuple(e["loc"]): e["msg"] for e in unknown.json()["detail"]}
    assert set(errors) == {("body", "code"), ("body", "value")}
    assert "allowed: contacted, appointment, quoted, sold" in errors[("body", "code")]
    assert "negative" in errors[("body", "value")]
    for value in ("abc", "12.345", "1e3", "99999999999.00"):
        bad = _post(market, alpha, lead_id, code="sold", value=value)
        assert bad.status_code == 422, (value, bad.text)
        assert bad.json()["detail"][0]["loc"] == ["body", "value"]
    missing = _post(market, alpha, lead_id, value="1")
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "code"]
    long_note = _post(market, alpha, lead_id, code="sold", note="x" * 501)
    assert long_note.status_code == 422
    nul = _post(market, alpha, lead_id, code="sold", note="a\x00b")  # PostgreSQL holds none
    assert nul.status_code == 422
    assert nul.json()["detail"][0]["loc"] == ["body", "note"]
    # nothing was recorded
    listed = market.http.get(f"/api/v1/buyer/leads/{lead_id}/dispositions", headers=bearer(alpha))
    assert listed.json() == []


def test_a_verticals_own_codes_replace_the_defaults(market: Market) -> None:
    codes = [
        {"code": "enrolled", "label": "Enrolled", "converted": True},
        {"code": "voicemail"},
    ]
    market.apply(two_buyers(dispositions=codes))
    lead_id = sell(market, FLORIDA, "north_auto", "(305) 555-0101")
    alpha = party_key(market, "buyer", "alpha")
    refused = _post(market, alpha, lead_id, code="sold")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["msg"].endswith("allowed: enrolled, voicemail")
    enrolled = _post(market, alpha, lead_id, code="enrolled")
    assert enrolled.status_code == 201, enrolled.text
    # converted implies contacted
    assert (enrolled.json()["contacted"], enrolled.json()["converted"]) == (True, True)
    exported = market.http.get("/api/v1/admin/config", headers=market.admin).text
    assert "enrolled" in exported
    duplicate = market.http.post(
        "/api/v1/admin/config",
        headers={**market.admin, "content-type": "application/yaml"},
        content=exported.replace("code: voicemail", "code: enrolled"),
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["detail"][0]["loc"][-1] == "verticals[0].dispositions[1].code"


def test_a_supplier_key_sees_its_leads_codes_only_and_its_campaigns_report(
    market: Market,
) -> None:
    market.apply(two_buyers())
    north_leads = [
        sell(market, FLORIDA, "north_auto", f"(305) 555-010{n}", sub_id=sub)
        for n, sub in ((1, "fb1"), (2, "fb1"), (3, "fb1"), (4, "g7"))
    ]
    south_lead = sell(market, TEXAS, "south_auto", "(305) 555-0109", sub_id="fb1")
    alpha, bravo = party_key(market, "buyer", "alpha"), party_key(market, "buyer", "bravo")
    assert _post(market, alpha, north_leads[0], code="quoted", value="900").status_code == 201
    assert _post(market, alpha, north_leads[0], code="sold", value="1250.50").status_code == 201
    assert (
        _post(market, alpha, north_leads[1], code="bad_number", note="Ana's old").status_code == 201
    )
    assert _post(market, alpha, north_leads[3], code="contacted").status_code == 201
    assert _post(market, bravo, south_lead, code="sold", value="777.77").status_code == 201

    north = bearer(party_key(market, "supplier", "north"))
    codes = market.http.get(f"/api/v1/supplier/leads/{north_leads[0]}/dispositions", headers=north)
    assert codes.status_code == 200, codes.text
    assert [d["code"] for d in codes.json()] == ["sold", "quoted"]
    assert set(codes.json()[0]) == {"code", "label", "reported_at"}
    assert "1250" not in codes.text
    assert "alpha" not in codes.text
    noted = market.http.get(f"/api/v1/supplier/leads/{north_leads[1]}/dispositions", headers=north)
    assert "Ana" not in noted.text
    south = market.http.get(f"/api/v1/supplier/leads/{south_lead}/dispositions", headers=north)
    assert south.status_code == 404

    report = market.http.get("/api/v1/supplier/reports/dispositions", headers=north)
    assert report.status_code == 200, report.text
    rows = {(r["campaign"], r["sub_id"]): r for r in report.json()["rows"]}
    assert set(rows) == {("north_auto", "fb1"), ("north_auto", "g7")}
    fb1 = rows[("north_auto", "fb1")]
    assert (fb1["sold"], fb1["disposed"], fb1["contacted"], fb1["converted"]) == (3, 2, 1, 1)
    assert (fb1["contact_rate"], fb1["conversion_rate"]) == (0.5, 0.5)
    assert (fb1["value"], fb1["value_per_sold"]) == ("1250.50", "416.83")
    assert rows[("north_auto", "g7")]["contact_rate"] == 1.0
    assert report.json()["total"]["sold"] == 4
    assert "bravo" not in report.text
    assert "777.77" not in report.text
    by_buyer = market.http.get(
        "/api/v1/supplier/reports/dispositions", headers=north, params={"by": "buyer"}
    )
    assert by_buyer.status_code == 422
    assert by_buyer.json()["detail"][0]["loc"] == ["query", "by"]

    everything = market.http.get(
        "/api/v1/admin/reports/dispositions",
        headers=market.admin,
        params=[("by", "supplier"), ("by", "buyer")],
    )
    assert everything.status_code == 200, everything.text
    got = {(r["supplier"], r["buyer"]): (r["sold"], r["value"]) for r in everything.json()["rows"]}
    assert got == {("north", "alpha"): (4, "1250.50"), ("south", "bravo"): (1, "777.77")}
    assert everything.json()["total"]["value"] == "2028.27"
