"""Configuration errors: every issue with its YAML path and the offending value.

Errors::

    Exception
     └── ConfigError   .issues: every ConfigIssue found (parse or compile), never just the first
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["ConfigError", "ConfigIssue", "Issues", "join_path"]

#: longest rendering of an offending value in a message
_MAX_VALUE_TEXT = 80


@dataclass(frozen=True)
class ConfigIssue:
    #: YAML path such as ``buyers[2].orders[0].caps[0].limit``; empty for the whole document
    path: str
    msg: str
    value: object = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.msg}" if self.path else self.msg
        if self.value is not None:
            text += f" (got {_show(self.value)})"
        return text


class ConfigError(Exception):
    """A configuration that cannot be applied; ``str()`` lists one ``path: msg`` per line."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class Issues(list[ConfigIssue]):
    """The issues a compile collects, in the order found, each once."""

    def add(self, path: str, msg: str, value: object = None) -> None:
        issue = ConfigIssue(path, msg, value)
        if issue not in self:  # a `daily` range is checked once per weekday
            self.append(issue)

    def at_least(self, path: str, value: int, low: int) -> None:
        if value < low:
            self.add(path, f"must be at least {low}", value)


def join_path(*parts: str | int) -> str:
    """``join_path("buyers", 2, "orders", 0, "caps")`` → ``buyers[2].orders[0].caps``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part:
            text += f".{part}" if text else part
    return text


def _show(value: object) -> str:
    text = str(value) if isinstance(value, Decimal | int | float | bool) else repr(value)
    if len(text) > _MAX_VALUE_TEXT:
        text = text[: _MAX_VALUE_TEXT - 1] + "…"
    return text
