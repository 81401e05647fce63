"""Finding a consumer's PII in free text: what a buyer said back, a redirect URL, a trace
(``store.erasure``). A value is looked for in every shape it may have been kept in, as the
delivery log masks it (:func:`pingtree.delivery.attempts.mask_pii`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pingtree.delivery.attempts import mask_pii
from pingtree.domain.verticals import Vertical
from pingtree.store.secrets import PiiError, PiiVault
from pingtree.store.tables import Lead

__all__ = ["ERASED", "holds", "origin", "pii_values", "scrub", "scrub_auction"]

#: what an erased value reads as
ERASED = "[erased]"

#: values shorter than this are not searched for in free text (a two-letter name would
#: match half the words of a buyer's reason); the fields holding them are erased all the same
_MIN_SEARCHED = 3
#: where free text sits in the auction's compact candidate rows (``domain.trace``)
_REASON = 3


def scrub(value: Any, pii: Sequence[str]) -> Any:
    """``value`` (JSON, or text) with every string that :func:`holds` one of the ``pii``
    values replaced by :data:`ERASED`; ids (the values of keys ``id`` and ``…_id``) are
    ours, never PII, and stay."""
    if not pii or value is None:
        return value
    if isinstance(value, str):
        return ERASED if holds(value, pii) else value
    if isinstance(value, Mapping):
        return {key: item if _is_id(key) else scrub(item, pii) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, pii) for item in value]
    return value


def _is_id(key: object) -> bool:
    return isinstance(key, str) and (key == "id" or key.endswith("_id"))


def scrub_auction(auction: Mapping[str, Any] | None, pii: Sequence[str]) -> Any:
    """The kept auction with its free text scrubbed: the candidates' reasons (a buyer's,
    read from its answer) and the buyers' tokens. Order and buyer ids, outcomes, prices
    and the ranking are ours and stay, so the trace still answers "why not"."""
    if auction is None or not pii:
        return auction
    kept = dict(auction)
    for name in ("candidates", "sale_notes"):
        if name not in auction:
            continue
        kept[name] = [
            [scrub(item, pii) if i == _REASON else item for i, item in enumerate(row)]
            if isinstance(row, list)
            else row
            for row in auction.get(name, [])
        ]
    if isinstance(auction.get("tokens"), Mapping):
        kept["tokens"] = {k: scrub(v, pii) for k, v in auction["tokens"].items()}
    return kept


def holds(text: str, pii: Sequence[str]) -> bool:
    """Whether ``text`` holds one of the ``pii`` values in any shape a value takes on the
    wire or in a log (:func:`pingtree.delivery.attempts.mask_pii`'s)."""
    return mask_pii(text, [("", value) for value in pii]) != text


def pii_values(lead: Lead, vertical: Vertical | None, vault: PiiVault) -> list[str]:
    """The lead's PII values, to look for in free text before the fields go."""
    pii = {spec.name for spec in vertical.fields if spec.pii} if vertical else set()
    plain: set[str] = set()
    for name, value in lead.fields.items():
        if isinstance(value, str) and PiiVault.is_encrypted(value):
            try:
                plain.add(vault.decrypt(value))
            except PiiError:  # sealed under another key: unreadable, erased all the same
                continue
        elif name in pii and value is not None:
            plain.add(str(value))
    return sorted(value for value in plain if len(value) >= _MIN_SEARCHED)


def origin(url: str) -> str:
    """Where an exchange went, without its path and query (which may carry PII)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    host = parts.netloc.rpartition("@")[2]  # never a user name or password
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""
