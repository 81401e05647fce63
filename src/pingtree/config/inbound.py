"""Compiling a campaign's inbound profiles (``CampaignSpec.inbound``) against its vertical.

Checked here: unique profile ids, alias targets that are the vertical's fields, the
envelope's control names or a ping's hashed phone or email, value maps of known fields
whose keys stay distinct once case-folded, and XML names that can be element names. Each
issue is ``(path, message, value)`` under the campaign's path.
"""

from __future__ import annotations

from collections.abc import Sequence

from pingtree.config.supplier_spec import InboundProfileSpec
from pingtree.delivery.xml import is_xml_name
from pingtree.domain.inbound import (
    ANSWER_KEYS,
    CONTROL_NAMES,
    AnswerFormat,
    InboundFormat,
    InboundProfile,
)
from pingtree.domain.ping_dedup import HASH_FIELDS
from pingtree.domain.verticals import Vertical

__all__ = ["compile_inbound"]

Issue = tuple[str, str, object]
_STATUSES = ("accepted", "sold", "pending", "rejected", "error")


def compile_inbound(
    specs: Sequence[InboundProfileSpec], vertical: Vertical | None, path: str
) -> tuple[tuple[InboundProfile, ...], list[Issue]]:
    """The profiles, and every issue found (the profiles are meaningless if any)."""
    issues: list[Issue] = []
    profiles: list[InboundProfile] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        ppath = f"{path}.inbound[{i}]"
        if spec.id in seen:
            issues.append((f"{ppath}.id", "duplicate inbound profile id", spec.id))
        seen.add(spec.id)
        profiles.append(_profile(spec, vertical, ppath, issues))
    return tuple(profiles), issues


def _profile(
    spec: InboundProfileSpec, vertical: Vertical | None, path: str, issues: list[Issue]
) -> InboundProfile:
    fields = {f.name for f in vertical.fields} if vertical is not None else None
    # a ping's hashed phone and email travel among its fields (``domain.ping_dedup``)
    known = None if fields is None else fields | set(CONTROL_NAMES) | set(HASH_FIELDS)
    for theirs, ours in spec.aliases.items():
        if known is not None and ours not in known:
            issues.append(
                (f"{path}.aliases.{theirs}", "not a field of the vertical nor a control name", ours)
            )
        if spec.format == "json" and ours in CONTROL_NAMES:
            issues.append(
                (f"{path}.aliases.{theirs}", "a json profile's envelope names are its own", ours)
            )
        if spec.format == "xml" and not is_xml_name(theirs):
            issues.append((f"{path}.aliases.{theirs}", "not an XML element name", theirs))
    values: dict[str, dict[str, object]] = {}
    for ours, table in spec.values.items():
        vpath = f"{path}.values.{ours}"
        if fields is not None and ours not in fields and ours != "test":
            issues.append((vpath, "not a field of the vertical", ours))
        folded: dict[str, object] = {}
        for theirs, value in table.items():
            key = theirs.strip().casefold()
            if key in folded:
                issues.append((f"{vpath}.{theirs}", "repeats another key once case-folded", theirs))
            folded[key] = value
        values[ours] = folded
    answer = spec.answer
    answer_format = AnswerFormat(answer.format or ("xml" if spec.format == "xml" else "json"))
    for key in answer.names:
        if key not in ANSWER_KEYS:
            issues.append(
                (f"{path}.answer.names.{key}", f"not an answer key ({', '.join(ANSWER_KEYS)})", key)
            )
    for key in answer.statuses:
        if key not in _STATUSES:
            issues.append(
                (f"{path}.answer.statuses.{key}", f"not a status ({', '.join(_STATUSES)})", key)
            )
    if answer_format is AnswerFormat.XML:
        names = [("answer.root", answer.root)]
        names += [(f"answer.names.{key}", name) for key, name in answer.names.items()]
        for where, name in names:
            if not is_xml_name(name):
                issues.append((f"{path}.{where}", "not an XML element name", name))
    if spec.xml_root is not None and not is_xml_name(spec.xml_root):
        issues.append((f"{path}.xml_root", "not an XML element name", spec.xml_root))
    return InboundProfile(
        id=spec.id,
        format=InboundFormat(spec.format),
        aliases=dict(spec.aliases),
        values=values,
        spellings={ours: dict(table) for ours, table in spec.values.items()},
        ignore=frozenset(spec.ignore),
        request_root=spec.xml_root,
        answer_format=answer_format,
        answer_root=answer.root,
        answer_names=dict(answer.names),
        statuses=dict(answer.statuses),
    )
