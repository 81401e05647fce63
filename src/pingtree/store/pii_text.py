"""Finding a consumer's PII in free text: what a buyer said back, a redirect URL, a trace
(``store.erasure``). A value is looked for in every form it may have been kept in: as it
is, case-folded, URL-, HTML- or JSON-escaped."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from pingtree.domain.model import Vertical
from pingtree.store.secrets import PiiError, PiiVault
from pingtree.store.tables import Lead

__all__ = ["ERASED", "holds", "origin", "pii_forms", "scrub", "scrub_auction"]

#: what an erased value reads as
ERASED = "[erased]"

#: values shorter than this are not searched for in free text (a two-letter name would
#: match half the words of a buyer's reason); the fields holding them are erased all the same
_MIN_SEARCHED = 3
#: where free text sits in the auction's compact candidate rows (``domain.trace``)
_REASON = 3


def scrub(value: Any, pii: Sequence[str]) -> Any:
    """``value`` (JSON, or text) with every string that holds one of the ``pii`` values —
    as it is, lower-cased, URL-, HTML- or JSON-escaped — replaced by :data:`ERASED`; ids
    (the values of keys ``id`` and ``…_id``) are ours, never PII, and stay."""
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
    folded = text.casefold()
    return any(form in folded for form in pii)


def pii_forms(lead: Lead, vertical: Vertical | None, vault: PiiVault) -> list[str]:
    """The lead's PII values in every form a buyer or a log may have kept, case-folded (to
    look for in free text before the fields go)."""
    pii = {spec.name for spec in vertical.fields if spec.pii} if vertical else set()
    plain: list[str] = []
    for name, value in lead.fields.items():
        if isinstance(value, str) and PiiVault.is_encrypted(value):
            try:
                plain.append(vault.decrypt(value))
            except PiiError:  # sealed under another key: unreadable, erased all the same
                continue
        elif name in pii and value is not None:
            plain.append(str(value))
    return sorted({form for value in plain for form in _forms(value)})


def _forms(value: str) -> Iterable[str]:
    if len(value) < _MIN_SEARCHED:
        return ()
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value),
        html.escape(value),
        html.escape(value, quote=False),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    return {form.casefold() for form in forms}


def origin(url: str) -> str:
    """Where an exchange went, without its path and query (which may carry PII)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    host = parts.netloc.rpartition("@")[2]  # never a user name or password
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""
