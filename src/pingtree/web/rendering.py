"""The pages' Jinja2 environment: autoescaped HTML, strict about undefined names, and the few
filters the templates use to show times, JSON and outcomes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pingtree.api.scoping import PARTY_SECTIONS
from pingtree.config.entities import spec_yaml
from pingtree.principals import Principal

__all__ = ["ADMIN_SECTIONS", "NAVIGATION", "page_templates", "tone"]

#: the sections of the UI, in the order of the navigation bar
NAVIGATION = (
    ("/ui", "Dashboard"),
    ("/ui/my-campaigns", "Your campaigns"),
    ("/ui/leads", "Leads"),
    ("/ui/pings", "Pings"),
    ("/ui/attempts", "Delivery log"),
    ("/ui/buyers", "Buyers"),
    ("/ui/campaigns", "Campaigns"),
    ("/ui/keys", "API keys"),
    ("/ui/party-keys", "Party keys"),
    ("/ui/verticals", "Verticals"),
    ("/ui/reports", "Reports"),
    ("/ui/replay", "Replay"),
    ("/ui/dispositions", "Dispositions"),
    ("/ui/sign-ins", "Sign-ins"),
    ("/ui/users", "Users"),
    ("/ui/erasures", "Erasures"),
    ("/ui/suppression", "Suppression"),
    ("/ui/my-orders", "My orders"),
    ("/ui/bought-leads", "Bought leads"),
    ("/ui/invoices", "Invoices"),
    ("/ui/returns", "Returns"),
    ("/ui/accounts", "Accounts"),
    ("/ui/my-account", "My account"),
)
#: the sections only admins may open (the others are answered 403), so not shown to others
ADMIN_SECTIONS = frozenset({"/ui/sign-ins", "/ui/erasures", "/ui/users"})
#: the sections a supplier's or buyer's user sees in the navigation (``api.scoping``)
#: (a buyer's user reads the leads it bought in its portal, with their PII: not also in the
#: staff's masked list, which its delivery log's links still open)
_PARTY_NAVIGATION = {
    role: frozenset(f"/ui/{section}" for section in sections)
    - ({"/ui/leads"} if role == "buyer" else set())
    for role, sections in PARTY_SECTIONS.items()
}

_GOOD = frozenset(
    {"sold", "accepted", "fixed", "bid", "delivered", "winner", "success"}
    # a return's decision, a ledger entry's money in
    | {"approved", "topup"}
)
_BAD = frozenset(
    {"rejected", "error", "timeout", "unknown", "failed", "returned", "denied", "chargeback"}
    # how a sign-in failed
    | {"wrong_password", "unknown_user", "disabled", "locked"}
)
_WAITING = frozenset(
    {"received", "pending", "unsold", "no_bid", "below_floor", "above_max_bid"}
    | {"skipped_slow", "throttled"}
    | {"requested"}
)


def tone(word: object) -> str:
    """The badge colour for an outcome or a status: good, bad, waiting or quiet."""
    text = str(word)
    if text in _GOOD:
        return "good"
    if text in _BAD:
        return "bad"
    if text in _WAITING:
        return "waiting"
    return "quiet"


def page_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("pingtree.web", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["pretty"] = _pretty
    env.filters["tone"] = tone
    env.filters["spec_yaml"] = spec_yaml
    env.globals["navigation"] = NAVIGATION
    env.globals["admin_sections"] = ADMIN_SECTIONS
    env.globals["section_of"] = _section_of
    env.globals["in_navigation"] = _in_navigation
    return env


def _when(value: dt.datetime | None) -> str:
    """A UTC timestamp to the second, or a dash."""
    if value is None:
        return "–"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _pretty(value: Any) -> str:
    """Indented JSON, for headers, parsed answers and traces (escaped by the template)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def _in_navigation(viewer: Principal, href: str) -> bool:
    """Whether ``viewer``'s navigation shows the section at ``href``."""
    if href == "/ui/invoices":  # the staff's, a buyer's invoices, a supplier's statements
        return viewer.is_staff or viewer.party is not None
    if href == "/ui/my-account":  # the portals' own account; staff open /ui/accounts
        return viewer.party is not None
    if href in ("/ui/my-orders", "/ui/bought-leads"):  # the buyer portal: a buyer's own
        return viewer.role == "buyer"
    if href == "/ui/suppression":  # who runs the marketplace: admins and operators
        return viewer.may_operate
    if viewer.is_staff:  # the supplier portal's front page is a supplier's
        return href != "/ui/my-campaigns" and (viewer.is_admin or href not in ADMIN_SECTIONS)
    return href in _PARTY_NAVIGATION.get(viewer.role, frozenset())


def _section_of(path: str) -> str:
    """The navigation entry a page belongs to: the longest matching prefix."""
    matches = [href for href, _ in NAVIGATION if path == href or path.startswith(href + "/")]
    return max(matches, key=len, default="")
