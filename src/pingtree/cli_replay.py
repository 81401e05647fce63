"""``pingtree replay``: a draft configuration re-run on the stored pings of a period
(``flows.whatif``), and the span a command reads (``7d``, ``24h``, ``90m``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from pingtree.cli_support import DatabaseUrl, DataDir, settings_from, with_sessions

__all__ = ["replay", "span"]


def replay(
    config: Annotated[
        Path,
        typer.Option("--config", exists=True, dir_okay=False, help="the draft YAML configuration"),
    ],
    since: Annotated[str, typer.Option("--since", help="how far back: 7d, 24h, 90m")] = "7d",
    campaign: Annotated[str | None, typer.Option("--campaign", help="one campaign")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the whole report as JSON")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Re-run the stored pings' auctions on a draft, with the bids buyers gave (no buyer
    is contacted), and show what would change."""
    import json

    from pingtree.config.errors import ConfigError
    from pingtree.flows.replay_worker import fewer_collections
    from pingtree.flows.whatif import summary_lines, what_if

    back = span(since)
    text = config.read_text(encoding="utf-8")
    settings = settings_from(data_dir, database_url)
    until = dt.datetime.now(dt.UTC)
    try:
        with fewer_collections():  # the command's own process
            report = with_sessions(
                settings,
                lambda sessions: what_if(sessions, text, until - back, until, campaign_id=campaign),
            )
    except ConfigError as error:
        typer.echo(f"{config}: invalid configuration", err=True)
        for issue in error.issues:
            typer.echo(f"  {issue.path}: {issue.msg}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for line in summary_lines(report):
            typer.echo(line)


def span(text: str) -> dt.timedelta:
    """``7d``, ``24h`` or ``90m`` as a span; a usage error otherwise."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise typer.BadParameter(f"--since {text!r}: a number and d, h or m, e.g. 7d")
    return dt.timedelta(**{units[unit]: int(number)})
