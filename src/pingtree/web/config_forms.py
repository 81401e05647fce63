"""The edit forms of the configuration pages: which inputs each kind of entity has, how a
spec fills them, and how a submitted form becomes a spec again.

Common scalars are plain inputs; structured parts (filters, caps, schedule, delivery, a
vertical's fields) are YAML textareas, so every key of the schema can be edited. The spec
a form gives goes to the same function as the admin API's ``PUT``, which checks it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pingtree.config.entities import Kind, spec_yaml
from pingtree.config.errors import ConfigError, ConfigIssue, join_path
from pingtree.config.parse import read_yaml
from pingtree.domain.campaigns import RankBy

__all__ = ["FORMS", "FormField", "form_values", "merge_form", "spec_from_form"]

#: ``vertical``: a choice among the stored verticals; ``yaml``: a textarea of YAML
Widget = Literal["text", "number", "select", "checkbox", "vertical", "yaml"]


@dataclass(frozen=True)
class FormField:
    #: the spec key, dotted for a nested one: ``pricing.floor``
    name: str
    label: str
    widget: Widget = "text"
    options: tuple[str, ...] = ()
    #: the value the schema takes when the key is left out
    default: str = ""
    hint: str = ""
    #: read only when another field has this value: ``("pricing.type", "bid")``
    when: tuple[str, str] | None = None
    #: a tick box saying the named bound is strict: ``{gt: …}`` rather than at least
    strict_of: str = ""

    @property
    def rows(self) -> int:
        """A textarea's height: one line for a short list, more for a structure."""
        return 1 if self.name in _ONE_LINERS else 6


_ONE_LINERS = frozenset({"modes", "pricing.legs"})
_ON = "on"


def _active() -> FormField:
    return FormField("active", "Active", "checkbox", default=_ON)


_FIXED = ("pricing.type", "fixed")
_BID = ("pricing.type", "bid")
_SHARE = ("payout.model", "revenue_share")

FORMS: dict[Kind, tuple[FormField, ...]] = {
    Kind.VERTICALS: (
        FormField("name", "Name"),
        FormField(
            "fields",
            "Fields",
            "yaml",
            hint="a list of {name, type, pii, ping, post, values, min, max, label}",
        ),
    ),
    Kind.SUPPLIERS: (FormField("name", "Name"), _active()),
    Kind.CAMPAIGNS: (
        FormField("name", "Name"),
        FormField("vertical", "Vertical", "vertical"),
        _active(),
        FormField("modes", "Modes", "yaml", default="[ping_post]", hint="ping_post, direct_post"),
        FormField("payout.model", "Payout", "select", ("revenue_share", "fixed"), "revenue_share"),
        FormField("payout.percent", "Revenue share %", "number", when=_SHARE),
        FormField("payout.amount", "Fixed payout", "number", when=("payout.model", "fixed")),
        FormField("max_sells", "Max sells", "number", default="1", hint="1 = exclusive"),
        FormField("rank_by", "Rank by", "select", tuple(r.value for r in RankBy), RankBy.PRICE),
        FormField("ping_ttl_seconds", "Ping TTL (s)", "number", default="300"),
        FormField("ping_deadline_ms", "Ping deadline (ms)", "number", default="1000"),
        FormField("post_deadline_ms", "Post deadline (ms)", "number", default="15000"),
        FormField("wait_for_delivery", "Wait for delivery", "checkbox", default=_ON),
        FormField("test_mode", "Test mode", "checkbox"),
        FormField("inbound_dedup_days", "Duplicate window (days)", "number", default="0"),
        FormField(
            "ping_options",
            "Ping options",
            "yaml",
            hint="min_revenue, min_profit, min_profit_percent, min_buyers, required_fields, "
            "qualify_all_criteria",
        ),
        FormField(
            "rate_limits",
            "Rate limits",
            "yaml",
            hint="429 past them: per_second, per_minute, concurrent (all keys together), "
            "per_key: {per_second, per_minute, concurrent}",
        ),
        FormField(
            "ping_dedup",
            "Repeated pings",
            "yaml",
            # (the hint is in the field's label: naming the vertical here would make two
            # fields answer to "Vertical")
            hint="window_seconds, on_repeat (first_answer or reject), fields (default: the "
            "lead's own fields that are not PII)",
        ),
        FormField(
            "forms",
            "Hosted forms",
            "yaml",
            hint="a list of {id, title, steps: [{title, fields}] or fields, consent, "
            "thank_you, frame_ancestors}: each served at /f/ID",
        ),
    ),
    Kind.BUYERS: (
        FormField("name", "Name"),
        _active(),
        FormField("timezone", "Time zone", default="UTC"),
        FormField("budget", "Budget caps", "yaml", hint="a list of {kind, window, limit}"),
    ),
    Kind.ORDERS: (
        FormField("name", "Name"),
        FormField("vertical", "Vertical", "vertical"),
        FormField("status", "Status", "select", ("active", "paused"), "active"),
        FormField("pricing.type", "Pricing", "select", ("fixed", "bid"), "fixed"),
        FormField("pricing.exclusive", "Exclusive price", "number", when=_FIXED),
        FormField("pricing.shared", "Shared price", "number", when=_FIXED),
        FormField("pricing.legs", "Legs", "yaml", when=_BID, hint="exclusive, shared"),
        FormField("pricing.floor", "Floor", "number", when=_BID),
        FormField(
            "pricing.floor_strict",
            "Bids must be over the floor (not equal)",
            "checkbox",
            when=_BID,
            strict_of="pricing.floor",
        ),
        FormField("pricing.max_bid", "Max bid", "number", when=_BID),
        FormField("priority", "Priority", "number", default="100"),
        FormField("weight", "Weight", "number", default="1"),
        FormField("dedup_days", "Duplicate window (days)", "number", default="0"),
        FormField("test_mode", "Test mode", "checkbox"),
        FormField("timezone", "Time zone", hint="for cap windows; default: the buyer's"),
        FormField("filters", "Filters", "yaml", hint="{all: [...]} or {any: [...]}"),
        FormField("geo", "Geography", "yaml", hint="states, zips, zip_prefixes"),
        FormField("caps", "Caps", "yaml", hint="a list of {kind, window, limit}"),
        FormField("schedule", "Schedule", "yaml", hint="timezone, hours, closed"),
        FormField("delivery", "Delivery", "yaml", hint="ping, post and chain steps; empty: none"),
    ),
}


def form_values(fields: tuple[FormField, ...], spec: Mapping[str, Any]) -> dict[str, str]:
    """The inputs' texts for ``spec`` (a canonical spec; ``{}`` for a new entity)."""
    values = {}
    for form_field in fields:
        if form_field.strict_of:
            bound = _get(spec, form_field.strict_of)
            values[form_field.name] = _ON if isinstance(bound, Mapping) and "gt" in bound else ""
            continue
        value = _get(spec, form_field.name)
        if isinstance(value, Mapping) and form_field.widget == "number":
            value = value.get("gt", value.get("ge"))  # a bound with its comparison
        if value is None:
            values[form_field.name] = form_field.default
        elif form_field.widget == "checkbox":
            values[form_field.name] = _ON if value else ""
        elif form_field.widget == "yaml":
            values[form_field.name] = spec_yaml(value).strip()
        else:
            values[form_field.name] = str(value)
    return values


def spec_from_form(fields: tuple[FormField, ...], form: Mapping[str, str]) -> dict[str, Any]:
    """The spec a submitted form gives: empty inputs left out (the schema's default), fields
    of another pricing or payout kind ignored. Raises :class:`ConfigError` for YAML that
    does not read, at the field's path."""
    spec: dict[str, Any] = {}
    issues: list[ConfigIssue] = []
    strict = {f.strict_of for f in fields if f.strict_of and form.get(f.name, "") == _ON}
    for form_field in fields:
        if form_field.when and form.get(form_field.when[0], "") != form_field.when[1]:
            continue
        text = form.get(form_field.name, "").strip()
        if form_field.strict_of:
            continue  # read with its bound
        if form_field.widget == "checkbox":
            _put(spec, form_field.name, text == _ON)
        elif not text:
            continue
        elif form_field.widget == "yaml":
            try:
                _put(spec, form_field.name, read_yaml(text))
            except ConfigError as error:
                issues += [
                    ConfigIssue(join_path(form_field.name, i.path), i.msg) for i in error.issues
                ]
        elif form_field.name in strict:
            _put(spec, form_field.name, {"gt": text})
        else:
            _put(spec, form_field.name, text)
    if issues:
        raise ConfigError(issues)
    return spec


def merge_form(
    fields: tuple[FormField, ...], stored: Mapping[str, Any], submitted: Mapping[str, Any]
) -> dict[str, Any]:
    """The spec an edit saves: the ``stored`` spec with every key the form shows replaced by
    what was ``submitted`` (:func:`spec_from_form`). A key the form does not show (a
    campaign's ``postback_url``, a key added to the schema later) is kept as stored, so
    saving a form never drops what it could not display."""
    spec = copy.deepcopy(dict(stored))
    for form_field in fields:
        _drop(spec, form_field.name)
    _merge(spec, submitted)
    return spec


def _drop(spec: dict[str, Any], dotted: str) -> None:
    """Take ``dotted`` out of ``spec``, and a parent mapping it leaves empty."""
    *parents, last = dotted.split(".")
    chain = [spec]
    for key in parents:
        child = chain[-1].get(key)
        if not isinstance(child, dict):
            return
        chain.append(child)
    chain[-1].pop(last, None)
    for key, parent in zip(reversed(parents), reversed(chain[:-1]), strict=True):
        if parent[key]:
            break
        del parent[key]


def _merge(spec: dict[str, Any], submitted: Mapping[str, Any]) -> None:
    for key, value in submitted.items():
        if isinstance(value, Mapping) and isinstance(spec.get(key), dict):
            _merge(spec[key], value)
        else:
            spec[key] = value


def _get(spec: Mapping[str, Any], dotted: str) -> Any:
    value: Any = spec
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _put(spec: dict[str, Any], dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        spec = spec.setdefault(key, {})
    spec[last] = value
