"""The dashboard's charts: pygal drawn on the server as inline SVG, with no script at all.

pygal always writes an inline ``<script>`` with its settings for the tooltips of its external
JS; with ``js=[]`` nothing loads it, and the pages' Content-Security-Policy forbids inline
scripts anyway, so the element is cut out with the comments (pygal's links). The charts read
the dicts of ``api.report_views``: money strings become numbers only to be drawn.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup, escape
from pygal.style import Style  # type: ignore[import-untyped]

from pingtree.api.report_terms import Bucket

# importing pygal appends an import hook for its map plugins (unused here) with no find_spec:
# every import that reaches it, such as an optional one that fails, warns (an error in tests)
sys.meta_path[:] = [hook for hook in sys.meta_path if not isinstance(hook, pygal.PluginImportFixer)]

__all__ = ["money_by", "money_over_time"]

#: the series drawn, in the order of their colours
_MONEY = ("revenue", "cost", "profit")
_BARS = ("revenue", "profit")
_COLOURS = {"revenue": "#2457c5", "cost": "#d9822b", "profit": "#1c7c47"}
#: the drawing's size (it scales to its box): a chart across the page, one of two side by side
_WIDE, _NARROW, _HEIGHT = 1100, 540, 300
#: bars drawn per chart, and x labels shown per time chart (at most)
_MOST_BARS = 10
_MOST_LABELS = 8
_UNWANTED = re.compile(r"<script\b.*?</script>|<!--.*?-->", re.DOTALL)

_FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"


def money_over_time(points: Sequence[Mapping[str, Any]], bucket: Bucket) -> Markup:
    """Revenue, cost and profit per bucket (``report_views.timeseries``), oldest first."""
    chart = pygal.Line(_config(_WIDE, *_MONEY))
    labels = [_label(point["start"], bucket) for point in points]
    chart.x_labels = labels
    # every bucket is a point, only some are labelled
    chart.x_labels_major_every = max(1, -(-len(labels) // _MOST_LABELS))
    chart.show_minor_x_labels = False
    chart.legend_at_bottom_columns = len(_MONEY)
    for name in _MONEY:
        chart.add(name, [_amount(point[name]) for point in points])
    return _inline(chart, "Revenue, cost and profit over time")


def money_by(rows: Sequence[Mapping[str, Any]], what: str) -> Markup:
    """Revenue and profit of the first rows of a breakdown (``report_views.breakdown``,
    highest revenue first); ``what`` names the keys (``supplier``, ``buyer``…)."""
    shown = rows[:_MOST_BARS]
    chart = pygal.Bar(_config(_NARROW, *_BARS))
    chart.x_labels = [row["key"] for row in shown]
    if shown:  # no series at all: pygal's "no data" text instead of an empty frame
        for name in _BARS:
            chart.add(name, [_amount(row[name]) for row in shown])
    return _inline(chart, f"Revenue and profit by {what}")


def _config(width: int, *series: str) -> Any:
    style = Style(
        background="transparent",
        plot_background="transparent",
        font_family=_FONT,
        label_font_family=_FONT,
        major_label_font_family=_FONT,
        legend_font_family=_FONT,
        no_data_font_family=_FONT,
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        no_data_font_size=18,
        guide_stroke_color="#c3cad6",
        major_guide_stroke_color="#c3cad6",
        guide_stroke_dasharray="2,4",
        major_guide_stroke_dasharray="2,4",
        colors=tuple(_COLOURS[name] for name in series),
    )
    return pygal.Config(
        js=[],
        disable_xml_declaration=True,
        width=width,
        height=_HEIGHT,
        include_x_axis=True,
        margin=8,
        style=style,
        legend_at_bottom=True,
        truncate_label=14,
        formatter=lambda value: f"{value:,.2f}",
        no_data_text="No sales yet",
    )


def _inline(chart: Any, label: str) -> Markup:
    svg = _UNWANTED.sub("", str(chart.render(is_unicode=True)))
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))


def _label(start: dt.datetime, bucket: Bucket) -> str:
    return f"{start:%H}:00" if bucket == "hour" else f"{start:%b %d}"


def _amount(money: str) -> float:
    return float(Decimal(money))
