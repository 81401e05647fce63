"""The YAML form of the configuration: pydantic models of its shape (DESIGN §8.4).

These models check shapes only (types, enums, unknown keys, money syntax) and give every
entity its stable slug ``id``. Cross-references, filters, schedules, time zones and ranges
are checked by :func:`pingtree.config.compile.compile_config`, which reports every issue
with its YAML path.

The document (:class:`ConfigDocument`) is here; its entities' shapes are in
``config.vertical_spec``, ``config.supplier_spec`` and ``config.buyer_spec``, built of the
types of ``config.spec_types``.

Canonical form: :func:`canonical` dumps a model as the JSON-able mapping that is stored and
exported: keys in declaration order, defaults left out, money as ``"25.00"`` strings,
other numbers as integers when whole (else exact decimal strings), dates as ISO strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pingtree.config.buyer_spec import BuyerSpec
from pingtree.config.spec_types import Spec
from pingtree.config.supplier_spec import SupplierSpec
from pingtree.config.vertical_spec import VerticalSpec

__all__ = ["ConfigDocument", "canonical"]


class ConfigDocument(Spec):
    verticals: list[VerticalSpec] = []
    suppliers: list[SupplierSpec] = []
    buyers: list[BuyerSpec] = []


def canonical(spec: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """The stored and exported mapping of ``spec``: JSON-able, defaults left out."""
    return spec.model_dump(mode="json", exclude_defaults=True, exclude=exclude)
