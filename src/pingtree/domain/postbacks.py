"""A campaign's conversion postback: a server-to-server URL template with macros, the way
affiliate trackers expect (``https://track.example/cb?click={click_id}&amount={payout}``).

Macros, each replaced by its value percent-encoded (RFC 3986: every reserved character
escaped, so a value can never add a parameter or change the URL's path):

- ``{click_id}``, ``{sub_id}``, ``{sub_id2}`` … ``{sub_id5}``: the lead's tracking fields as
  the seller sent them (empty when it sent none). Tracking fields are never PII;
- ``{lead_id}``, ``{campaign_id}``;
- ``{status}``: ``sold``, ``rejected`` or ``returned``;
- ``{payout}``: the supplier's money, never the buyer's price: its payout for ``sold``,
  ``0.00`` for ``rejected``, and for ``returned`` what was charged back (``0.00`` when the
  campaign does not charge returns back).

A template naming any other macro is refused when the configuration is applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

__all__ = ["MACROS", "STATUSES", "TRACKING_MACROS", "render_postback", "unknown_macros"]

MACROS: tuple[str, ...] = (
    "click_id",
    "sub_id",
    "sub_id2",
    "sub_id3",
    "sub_id4",
    "sub_id5",
    "lead_id",
    "campaign_id",
    "status",
    "payout",
)
STATUSES: tuple[str, ...] = ("sold", "rejected", "returned")
#: the lead's fields a postback reads
TRACKING_MACROS: tuple[str, ...] = MACROS[:6]

_MACRO = re.compile(r"\{([^{}]*)\}")


def unknown_macros(template: str) -> list[str]:
    """The macros of ``template`` that are not :data:`MACROS`, in order, each once."""
    found: list[str] = []
    for name in _MACRO.findall(template):
        if name not in MACROS and name not in found:
            found.append(name)
    return found


def render_postback(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each macro replaced by its value in ``values`` (missing: empty),
    percent-encoded.

    Raises ``ValueError`` naming an unknown macro (a template is checked at apply time)."""
    unknown = unknown_macros(template)
    if unknown:
        raise ValueError(f"unknown postback macros: {', '.join(unknown)}")
    return _MACRO.sub(lambda match: quote(values.get(match.group(1), ""), safe=""), template)
