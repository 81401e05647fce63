"""Presets: common buyer answer styles as partial step specs a step extends (``preset:``).

A step naming a preset takes every key of the preset it does not set itself; under
``response`` it takes every rule it does not set (so ``bid`` alone can be overridden).
Presets are plain data in the YAML shape of :class:`pingtree.delivery.spec.StepSpec`,
checked when :mod:`pingtree.delivery.spec` is imported. They describe answer *styles*
seen across platforms, not any vendor's documented API: check a buyer's spec before
relying on one.

- ``json_status``: JSON both ways; ``{"status": "success", "price": "12.50",
  "ping_id": "…", "redirect_url": "…", "message": "…"}``.
- ``xml_response``: XML both ways; ``<response><status>Matched</status>
  <price>12.50</price><lead_id>…</lead_id><redirect_url>…</redirect_url>
  <reason>…</reason></response>``.
- ``text_pipe``: a form post answered in text: ``OK|<lead id>`` or ``ERROR|<reason>``
  (``DUPLICATE|…`` and ``REJECTED|…`` too); a price as ``price=12.50``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PRESETS"]

_ACCEPT_WORDS = ["success", "accepted", "ok", "matched", "sold", "true", "1", "y", "yes"]
_REJECT_WORDS = ["failure", "failed", "rejected", "error", "duplicate", "unmatched", "false"]

#: preset name → a partial step spec (the YAML shape)
PRESETS: Mapping[str, Mapping[str, object]] = {
    "json_status": {
        "content_type": "json",
        "response": {
            "accepted": {"json": "$.status", "equals": _ACCEPT_WORDS},
            "rejected": {"json": "$.status", "equals": _REJECT_WORDS},
            "bid": {"json": "$.price"},
            "token": {"json": "$.ping_id"},
            "redirect_url": {"json": "$.redirect_url"},
            "reason": {"json": "$.message"},
        },
    },
    "xml_response": {
        "content_type": "xml",
        "response": {
            "accepted": {"xpath": "/response/status", "equals": _ACCEPT_WORDS},
            "rejected": {"xpath": "/response/status", "equals": _REJECT_WORDS},
            "bid": {"xpath": "/response/price"},
            "token": {"xpath": "/response/lead_id"},
            "redirect_url": {"xpath": "/response/redirect_url"},
            "reason": {"xpath": "/response/reason"},
        },
    },
    "text_pipe": {
        "content_type": "form",
        "response": {
            "accepted": {"regex": "^\\s*OK\\b", "present": True},
            "rejected": {"regex": "^\\s*(?:ERROR|DUPLICATE|REJECTED)\\b", "present": True},
            "bid": {"regex": "\\bprice=([0-9.,$]+)"},
            "token": {"regex": "^\\s*OK\\|([^|\\s]+)"},
            "reason": {"regex": "^\\s*(?:ERROR|DUPLICATE|REJECTED)\\|(.*)"},
        },
    },
}
