"""``{name}`` placeholders in URLs and header values, parsed once, filled per request.

``{{`` and ``}}`` stand for literal braces; any other brace is an error. Names are
identifiers (``{campaign}``, ``{token}``, ``{zip}``). Filling takes an ``encode`` function:
URL parts are percent-encoded, header values are checked for CR/LF by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Placeholder", "TextTemplate", "parse_placeholders"]

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]{0,63})\}|[{}]")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str


@dataclass(frozen=True, slots=True)
class TextTemplate:
    """A text with placeholders: literal parts and :class:`Placeholder` parts in order."""

    parts: tuple[str | Placeholder, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(part.name for part in self.parts if isinstance(part, Placeholder))

    @property
    def literal(self) -> str:
        """The text with every placeholder left empty (for checks such as the scheme)."""
        return "".join(part for part in self.parts if isinstance(part, str))

    def fill(self, value: Callable[[str], str], encode: Callable[[str], str]) -> str:
        """The text with each placeholder replaced by ``encode(value(name))``.

        ``value`` raises for a name it cannot fill; the error propagates unchanged.
        """
        return "".join(
            part if isinstance(part, str) else encode(value(part.name)) for part in self.parts
        )

    def prefix_before_first(self) -> str:
        """The literal text before the first placeholder (all of it when there is none)."""
        text = ""
        for part in self.parts:
            if isinstance(part, Placeholder):
                break
            text += part
        return text


def parse_placeholders(text: str) -> TextTemplate:
    """``text`` parsed into a :class:`TextTemplate`.

    Raises ``ValueError`` for a lone ``{`` or ``}`` or a placeholder that is not an
    identifier (``{1}``, ``{a.b}``).
    """
    parts: list[str | Placeholder] = []
    literal = ""
    pos = 0
    for match in _TOKEN.finditer(text):
        literal += text[pos : match.start()]
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal += token[0]
        elif match.group(1) is not None:
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(Placeholder(match.group(1)))
        else:
            raise ValueError(
                f"lone {token!r} at {match.start()}: placeholders are {{name}}; "
                "write {{ or }} for a literal brace"
            )
    literal += text[pos:]
    if literal:
        parts.append(literal)
    return TextTemplate(tuple(parts))
