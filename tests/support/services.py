"""Outside services a campaign's quality steps call (``type: http``), as small loopback
servers speaking their vendors' published contracts (the fixtures under
``tests/delivery/check_fixtures/`` cite them): TrustedForm's Certificate API v4.0,
Jornaya's LeadiD Authentication API and an IPQualityScore-style fraud score.

Each answers by the lead it is given, so a test chooses the answer by its lead:

- TrustedForm ``POST /tf/{cert_id}``: basic auth ``API:<key>`` and ``api-version: 4.0``
  or 403; a certificate of :data:`CERTS` → ``outcome: success`` (``failure`` when the
  email does not match); ``boom`` → 502; any other id → 404 (an HTML page).
- Jornaya ``GET /Authenticate?lac=…&id=…``: ``authentic: 1`` for :data:`LEADIDS`, else 0.
- Fraud ``GET /api/json/phone/{key}?phone=…``: a wrong key → ``success: false``; the
  phone picks the score (:data:`SCORES`), a 503, or an answer after 2 s.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from tests.support.server import serve_app

TF_KEY = "tf-key-test"
JORNAYA_CODE = "jornaya-ac-test"
FRAUD_KEY = "fk-test"
#: certificates TrustedForm holds, by id, with the email typed on the form
CERTS = {"0dcf2d4fd42c8b1e8c5cee4e8e6d7e4b5e6a1f20": "ana@example.com"}
LEADIDS = frozenset({"A1B2C3D4-E5F6-0718-293A-4B5C6D7E8F90"})
#: phone → fraud score; ``503``: the service fails; ``slow``: it answers after 2 s
SCORES: dict[str, int | str] = {
    "3055550142": 12,
    "3055550199": 95,
    "3055550177": "503",
    "3055550188": "slow",
}


@dataclass
class Services:
    url: str
    #: every request: (path, headers, query, body)
    requests: list[tuple[str, dict[str, str], dict[str, str], bytes]] = field(default_factory=list)

    def secrets(self) -> dict[str, str]:
        """The ``PINGTREE_SECRET_*`` variables the presets' credentials are read from."""
        return {
            "PINGTREE_SECRET_TRUSTEDFORM_API_KEY": TF_KEY,
            "PINGTREE_SECRET_JORNAYA_ACCOUNT_CODE": JORNAYA_CODE,
            "PINGTREE_SECRET_FRAUD_KEY": FRAUD_KEY,
        }


def _app(services: dict[str, Services]) -> FastAPI:
    app = FastAPI()

    async def record(request: Request) -> None:
        body = await request.body()
        services["it"].requests.append(
            (request.url.path, dict(request.headers), dict(request.query_params), body)
        )

    @app.post("/tf/{cert_id}")
    async def trustedform(cert_id: str, request: Request) -> Response:
        await record(request)
        expected = "Basic " + base64.b64encode(f"API:{TF_KEY}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Response("Forbidden", status_code=403)
        if request.headers.get("api-version") != "4.0":
            return JSONResponse({"message": "api-version 4.0 expected"}, status_code=406)
        if cert_id == "boom":
            return Response("Bad Gateway", status_code=502)
        if cert_id not in CERTS:
            return HTMLResponse("<html><body>Certificate Not Found</body></html>", 404)
        lead: dict[str, Any] = (await request.json()).get("match_lead", {})
        matched = lead.get("email") == CERTS[cert_id]
        return JSONResponse(
            {
                "outcome": "success" if matched else "failure",
                "reason": None if matched else "Lead data did not match",
                "match_lead": {**lead, "result": {"email_match": matched, "success": matched}},
                "retain": {
                    "vendor": "pingtree",
                    "results": {"expires_at": "2027-03-07T04:12:00.000Z"},
                },
            }
        )

    @app.get("/Authenticate")
    async def jornaya(request: Request) -> Response:
        await record(request)
        token = request.query_params.get("id", "")
        if request.query_params.get("lac") != JORNAYA_CODE:
            return JSONResponse({"error": "invalid account code"}, status_code=401)
        authentic = 1 if token in LEADIDS else 0
        return JSONResponse({"authenticate": {"authentic": authentic, "token": token}})

    @app.get("/api/json/phone/{key}")
    async def fraud(key: str, request: Request) -> Response:
        await record(request)
        if key != FRAUD_KEY:
            return JSONResponse({"success": False, "message": "Invalid or unauthorized key."})
        score = SCORES.get(request.query_params.get("phone", ""), 10)
        if score == "503":
            return Response("Service Unavailable", status_code=503)
        if score == "slow":
            await asyncio.sleep(2)
            score = 10
        return JSONResponse(
            {"success": True, "message": "Success.", "valid": True, "fraud_score": score}
        )

    return app


@contextmanager
def running_services() -> Iterator[Services]:
    holder: dict[str, Services] = {}
    with serve_app(_app(holder)) as url:
        holder["it"] = Services(url)
        yield holder["it"]
