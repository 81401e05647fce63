"""The empty FastAPI handler ``bench/ping_floor.py`` measures pingtree's ping against: the
same request and answer shapes, no work between them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class PingBody(BaseModel):
    fields: dict[str, Any]


@app.post("/api/v1/ping")
async def ping(body: PingBody) -> dict[str, Any]:
    return {"status": "accepted", "ping_id": "0", "bid": "0.00", "fields": len(body.fields)}
