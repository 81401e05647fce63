"""Resolving a step spec before it compiles: its ``preset`` and ``same_as`` filled in, and
pydantic's shape errors as YAML paths (:func:`pingtree.delivery.spec.compile_delivery`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from pingtree.delivery.models import StepSpec
from pingtree.delivery.presets import PRESETS

__all__ = ["apply_preset", "resolve_same_as", "shape_issues"]

#: the presets of :mod:`pingtree.delivery.presets`, validated once
_PRESETS = {name: StepSpec.model_validate(raw) for name, raw in PRESETS.items()}


def apply_preset(name: str, step: StepSpec, issues: list[tuple[str, str]]) -> StepSpec:
    """``step`` with the keys of its preset it does not set (rule by rule under
    ``response``)."""
    if step.preset is None:
        return step
    preset = _PRESETS.get(step.preset)
    if preset is None:
        known = ", ".join(sorted(_PRESETS))
        issues.append((f"{name}.preset", f"unknown preset {step.preset!r} (known: {known})"))
        return step
    own = step.model_fields_set
    update = {key: getattr(preset, key) for key in preset.model_fields_set if key not in own}
    if step.response is not None and preset.response is not None:
        rules = step.response.model_fields_set
        inherited = {
            key: getattr(preset.response, key)
            for key in preset.response.model_fields_set
            if key not in rules
        }
        update["response"] = step.response.model_copy(update=inherited)
    return step.model_copy(update=update)


def resolve_same_as(
    ping: StepSpec | None, post: StepSpec, issues: list[tuple[str, str]]
) -> tuple[StepSpec, dict[str, str]]:
    """The post step with the ping's keys it does not set, and where each key came from."""
    if post.same_as is None:
        return post, {}
    if post.same_as != "ping":
        issues.append(("post.same_as", f"unknown step {post.same_as!r}: only 'ping'"))
        return post, {}
    if ping is None:
        issues.append(("post.same_as", "there is no ping step to be the same as"))
        return post, {}
    own = post.model_fields_set - {"same_as", "preset"}
    inherited = {key for key in ping.model_fields_set if key not in own | {"same_as", "preset"}}
    # ``retries`` and ``on_unknown`` are post-only: refused on the ping, never inherited
    inherited -= {"retries", "on_unknown"}
    update = {key: getattr(ping, key) for key in inherited}
    return post.model_copy(update=update), dict.fromkeys(inherited, "ping")


# --- shape errors ----------------------------------------------------------------------------

_UNION_TAGS = frozenset({"rule", "rules"})


def shape_issues(raw: object, exc: ValidationError) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False, include_input=False):
        issues.append((_loc_path(raw, error["loc"]), error["msg"]))
    return list(dict.fromkeys(issues))


def _loc_path(raw: object, loc: Sequence[int | str]) -> str:
    """A pydantic ``loc`` as a YAML path, without the union tags pydantic inserts."""
    path = ""
    node: object = raw
    for part in loc:
        if (
            isinstance(part, str)
            and part in _UNION_TAGS
            and not (isinstance(node, Mapping) and part in node)
        ):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
        else:
            path += f".{part}" if path else part
            node = node.get(part) if isinstance(node, Mapping) else None
    return path
