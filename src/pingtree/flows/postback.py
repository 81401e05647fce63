"""Telling a seller its lead's final answer: a JSON post to the campaign's ``postback_url``,
tried a few times (DESIGN §8.6). The seller can always read it at ``GET /leads/{id}``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from pingtree.delivery.client import BuyerClient, SendError, send

__all__ = ["post_back"]

logger = logging.getLogger(__name__)

_TRIES = 3
_TIMEOUT_SECONDS = 5.0


async def post_back(http: BuyerClient, url: str, answer: dict[str, Any]) -> None:
    """Post ``answer`` to ``url``; a 5xx or a failed connection is tried again after 1, 2
    seconds; a 4xx is logged and not tried again."""
    body = orjson.dumps(answer)
    headers = [("Content-Type", "application/json")]
    for attempt in range(_TRIES):
        try:
            response = await send(http, "POST", url, headers, body, timeout=_TIMEOUT_SECONDS)
            if response.status < 500:
                if response.status >= 400:
                    logger.warning(
                        "postback of lead %s refused: HTTP %s",
                        answer.get("lead_id"),
                        response.status,
                    )
                return
        except SendError as exc:
            logger.info("postback of lead %s failed: %s", answer.get("lead_id"), exc.kind)
        if attempt + 1 < _TRIES:
            await asyncio.sleep(2**attempt)
    logger.warning("postback of lead %s given up", answer.get("lead_id"))
