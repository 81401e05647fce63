"""The YAML text: reading it and checking its shape (errors at their YAML paths), writing it."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pingtree.config.errors import ConfigError, ConfigIssue, join_path
from pingtree.config.schema import ConfigDocument, canonical

__all__ = ["dump_yaml", "load_yaml", "parse_config", "read_yaml"]

_MERGE_TAG = "tag:yaml.org,2002:merge"


def parse_config(data: object) -> ConfigDocument:
    """``data`` (as read from YAML or JSON) as a :class:`ConfigDocument`.

    Raises :class:`ConfigError` listing every shape problem at its YAML path.
    """
    if data is None:
        raise ConfigError([ConfigIssue("", "the document is empty")])
    try:
        return ConfigDocument.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_issue(error, data) for error in exc.errors()) from None


def load_yaml(text: str) -> ConfigDocument:
    """Parse YAML ``text`` (safe subset; a key repeated in one mapping is an error).

    Raises :class:`ConfigError`: YAML syntax errors name the line and column.
    """
    return parse_config(read_yaml(text))


def read_yaml(text: str) -> object:
    """The data of YAML ``text`` (safe subset), unchecked: a document or any part of one.

    Raises :class:`ConfigError` for a syntax error (naming the line and column) or a key
    repeated in one mapping.
    """
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([ConfigIssue("", f"{where}{exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue("", f"invalid YAML: {exc}")]) from None


# --- YAML ------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (YAML would keep the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- pydantic errors → YAML paths ------------------------------------------------------------

_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown key",
}


def _issue(error: ErrorDetails, data: object) -> ConfigIssue:
    kind = error["type"]
    path = _yaml_path(error["loc"], data, missing=kind == "missing")
    ctx = error.get("ctx") or {}
    value: object = error.get("input")
    if kind in ("union_tag_invalid", "union_tag_not_found") and "discriminator" in ctx:
        # point at the tag itself: pricing.type, payout.model
        path = join_path(path, str(ctx["discriminator"]).strip("'"))
        if kind == "union_tag_not_found":
            return ConfigIssue(path, "required")
        return ConfigIssue(path, f"must be one of {ctx['expected_tags']}", ctx.get("tag"))
    if kind == "missing":
        value = None
    msg = _MESSAGES.get(kind) or _pydantic_msg(error["msg"])
    return ConfigIssue(path, msg, value)


def _pydantic_msg(msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def _yaml_path(loc: tuple[int | str, ...], data: object, *, missing: bool = False) -> str:
    """Pydantic's ``loc`` as a YAML path, walking ``data`` alongside.

    A discriminated union adds its tag (``fixed``, ``condition``) to ``loc``; such a part is
    recognized by not being a key of the mapping at hand, and left out. The one exception
    is the last part of a ``missing`` error: the absent key itself.
    """
    parts: list[str | int] = []
    node: object = data
    for n, part in enumerate(loc):
        last = n == len(loc) - 1
        if isinstance(part, int):
            parts.append(part)
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        elif isinstance(node, Mapping) and part not in node and not (last and missing):
            continue  # a union tag
        else:
            parts.append(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return join_path(*parts)


# --- writing ---------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """The safe dumper, writing lists of scalars on one line (``values: [a, b]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    flat = all(isinstance(item, str | int | float | bool) or item is None for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat and bool(data))


_Dumper.add_representer(list, _represent_list)


def dump_yaml(doc: ConfigDocument) -> str:
    """``doc`` as YAML text in canonical form (declared key order, defaults left out,
    money as strings) that :func:`load_yaml` reads back to the same document."""
    data = canonical(doc)
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
