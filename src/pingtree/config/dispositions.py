"""A vertical's disposition codes from its YAML (``dispositions:``): its own list replaces
the default one (``domain.dispositions.DEFAULT_DISPOSITIONS``); a code appears once; a
converted code counts as contacted too. Issues name the YAML path and the value."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from pingtree.config.vertical_spec import DispositionCodeSpec
from pingtree.domain.dispositions import DispositionCode
from pingtree.domain.verticals import Vertical

__all__ = ["with_dispositions"]


def with_dispositions(
    vertical: Vertical,
    specs: Sequence[DispositionCodeSpec],
    path: str,
    add_issue: Callable[[str, str, object], None],
) -> Vertical:
    """``vertical`` with the codes ``specs`` name (unchanged when there are none)."""
    if not specs:
        return vertical
    codes: list[DispositionCode] = []
    for j, spec in enumerate(specs):
        if any(seen.code == spec.code for seen in codes):
            add_issue(f"{path}[{j}].code", "duplicate disposition code", spec.code)
            continue
        label = spec.label or spec.code.replace("_", " ").capitalize()
        contacted = spec.contacted or spec.converted
        codes.append(DispositionCode(spec.code, label, contacted, spec.converted))
    return dataclasses.replace(vertical, dispositions=tuple(codes))
