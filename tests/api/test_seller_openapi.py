"""The seller API says what it needs: ``missing_required_fields`` names the absent fields, and
the main OpenAPI document declares the seller API's security schemes, ``Idempotency-Key``,
examples and typed error answers (as the campaign's own document does)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jsonschema_rs
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from tests.api.market import PING, Market, buyer, campaign, marketplace, order


def _requiring(market: Market, *names: str) -> None:
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "10.00")),
                # takes test leads (the documents' examples are test leads)
                buyer("sandbox", order("sandbox_any", "9.00", test_mode=True)),
            ],
            [campaign(ping_options={"required_fields": list(names)})],
        )
    )


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in PING.items() if k not in names}


def test_missing_required_fields_names_the_fields(market: Market) -> None:
    _requiring(market, "credit", "insured")
    answer = market.ping(_without("credit"))
    assert answer == {
        "status": "rejected",
        "ping_id": answer["ping_id"],
        "reasons": ["missing_required_fields"],
        "missing": ["credit", "insured"],
    }
    # a form ping, with personal data too: both reasons, the missing field named
    form = urlencode({**PING, "phone": "3055550142"})
    response = market.http.post(
        "/api/v1/ping",
        content=form,
        headers={**market.seller(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["reasons"] == ["pii_in_ping", "missing_required_fields"]
    assert response.json()["missing"] == ["insured"]
    # a repeat (same Idempotency-Key) gets the same answer, names and all
    key = {**market.seller(), "Idempotency-Key": "lead-77"}
    first = market.http.post("/api/v1/ping", json={"fields": PING}, headers=key).json()
    again = market.http.post("/api/v1/ping", json={"fields": PING}, headers=key).json()
    assert first["missing"] == ["insured"]
    assert again == first
    # met, nothing is missing
    assert "missing" not in market.ping({**PING, "insured": False})


_SELLER_CALLS = {
    ("/api/v1/ping", "post"),
    ("/api/v1/post", "post"),
    ("/api/v1/leads", "post"),
    ("/api/v1/leads/{lead_id}", "get"),
}
_ERRORS = ("401", "403", "413", "415", "422", "429", "503")


def _validator(document: dict[str, Any], name: str) -> jsonschema_rs.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(root)


def _answers_as_documented(market: Market, document: dict[str, Any], path: str) -> None:
    """Real refusals of ``path`` match the schemas ``document`` gives their status."""
    operation = document["paths"][path]["post"]
    seller = market.seller()
    refusals = {
        "401": market.http.post(path, json={"fields": PING}),
        "403": market.http.post(path, json={"fields": PING}, headers=market.admin),
        "413": market.http.post(path, content=b"x" * 70_000, headers=seller),
        "415": market.http.post(
            path, content=b"<lead/>", headers={**seller, "content-type": "application/xml"}
        ),
        "422": market.http.post(path, json={"fields": {"zip": "nope", "bogus": 1}}, headers=seller),
    }
    for status, response in refusals.items():
        assert str(response.status_code) == status, (status, response.text)
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[1]
        assert _validator(document, name).is_valid(response.json()), (status, response.text)
    for status in ("429", "503"):
        assert "Retry-After" in operation["responses"][status]["headers"]


def test_the_main_document_declares_auth_idempotency_examples_and_errors(market: Market) -> None:
    _requiring(market)
    document = market.http.get("/openapi.json").json()
    OPENAPI_31_VALIDATOR.validate(document)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == schemes["bearer"] | {"type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == schemes["apiKey"] | {"in": "header", "name": "X-Api-Key"}
    assert "api_key" in schemes["bearer"]["description"]
    for path, method in _SELLER_CALLS:
        operation = document["paths"][path][method]
        assert operation["security"] == [{"bearer": []}, {"apiKey": []}], path
        assert operation["responses"]["200"]["content"]["application/json"]["examples"], path
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert headers == (["Idempotency-Key"] if path in ("/api/v1/ping", "/api/v1/leads") else [])
    for path in ("/api/v1/ping", "/api/v1/post", "/api/v1/leads"):
        operation = document["paths"][path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["examples"]
        assert set(_ERRORS) <= set(operation["responses"]), path
    _answers_as_documented(market, document, "/api/v1/ping")
    _answers_as_documented(market, document, "/api/v1/leads")


def test_the_campaign_document_has_working_examples_and_typed_errors(market: Market) -> None:
    _requiring(market, "credit")
    document = market.http.get(
        "/api/v1/campaigns/acme_auto/openapi.json", headers=market.admin
    ).json()
    OPENAPI_31_VALIDATOR.validate(document)
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    reasons = document["components"]["schemas"]["Reason"]["description"]
    assert "`missing_required_fields`:" in reasons
    for path, schema in (("/api/v1/ping", "Ping"), ("/api/v1/leads", "Lead")):
        operation = document["paths"][path]["post"]
        assert operation["parameters"][0]["name"] == "Idempotency-Key"
        content = operation["requestBody"]["content"]
        body = content["application/json"]["examples"]["test_lead"]["value"]
        form = content["application/x-www-form-urlencoded"]["examples"]["test_lead"]["value"]
        assert _validator(document, f"{schema}Request").is_valid(body), path
        assert _validator(document, f"{schema}Form").is_valid(form), path
        # the example sells: a real answer to it, as documented
        response = market.http.post(path, json=body, headers=market.seller())
        assert response.status_code == 200, response.text
        assert response.json()["status"] in ("accepted", "sold"), response.text
        assert _validator(document, "SellerAnswer").is_valid(response.json())
        response = market.http.post(
            path,
            content=urlencode({k: str(v).lower() if v is True else v for k, v in form.items()}),
            headers={**market.seller(), "content-type": "application/x-www-form-urlencoded"},
        )
        assert response.json()["status"] in ("accepted", "sold"), response.text
    _answers_as_documented(market, document, "/api/v1/ping")
