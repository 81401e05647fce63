"""What a lead's text may hold: one Unicode spelling, nothing invisible, no control codes.

Every text value a seller sends goes through :func:`clean_text` before its field type reads
it (``domain.field_types``), so that two spellings a person cannot tell apart are one value
for filters, ping/post comparison, dedup and buyers:

- **Format characters** (Unicode category ``Cf``: zero-width space and joiners, the
  left-to-right and right-to-left marks, embeddings, overrides and isolates, the byte order
  mark, the soft hyphen, tag characters) are **removed**. They are invisible, so they only
  ever hide a difference: ``ana\\u200b@example.com`` is ``ana@example.com``, and a
  right-to-left override would show a buyer's operator text other than what is stored. The
  joiners go too: a lead is names, addresses and identifiers, where a joined emoji may fall
  apart but no one is told apart by one.
- **Control characters** (``Cc``) are **refused**, naming the first one: NUL, escape, the
  C1 controls… The exceptions are tab, line feed and carriage return, which are whitespace:
  trimmed at either end of every value, kept inside free text (a consent text has lines),
  and refused inside a value whose type admits no whitespace (an email).
- **Lone surrogates** (``Cs``) are refused: they are not text, and neither database nor the
  encryption of PII can store them.
- What is left is **NFKC**-normalized (compatibility forms folded: fullwidth ``ＡＢＣ１２３``
  is ``ABC123``, the ligature ``ﬁ`` is ``fi``, a no-break space a space), then trimmed.

:func:`ascii_digits` is for the types whose digits go to buyers as they are (zip, phone,
numbers, dates): any Unicode decimal digit (``Nd``: Arabic-Indic ``٣``, Devanagari ``३``…)
becomes its ASCII digit, so ``٣٠٥٥٥٥٠١٤٢`` is the phone number ``3055550142``. NFKC
already folds fullwidth digits; other scripts' digits have no compatibility form.

Errors: :class:`TextError` (a ``ValueError``) with ``type`` ``invalid_characters`` and a
message naming the character by its code point.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["TextError", "ascii_digits", "clean_text", "is_blank"]

#: ASCII control characters but tab, line feed and carriage return
_ASCII_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE_CONTROLS = frozenset("\t\n\r")


class TextError(ValueError):
    """Text holding a character no value may hold. ``type`` is ``invalid_characters``."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.type = "invalid_characters"
        self.msg = msg


def clean_text(text: str) -> str:
    """``text`` without format characters, NFKC-normalized and trimmed.

    Raises :class:`TextError` for a control character other than tab, line feed and
    carriage return, and for a lone surrogate. Idempotent: a cleaned text cleans to itself.
    May return ``""`` (a text of whitespace and format characters only).
    """
    if text.isascii():  # the common case: no format characters, nothing to fold
        if control := _ASCII_CONTROL_RE.search(text):
            raise _control(control.group())
        return text.strip()
    kept: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        if category == "Cc" and char not in _WHITESPACE_CONTROLS:
            raise _control(char)
        if category == "Cs":
            raise TextError(f"must be valid Unicode text (U+{ord(char):04X} is half a pair)")
        kept.append(char)
    # format characters go first: one between a letter and its accent would keep NFKC
    # from composing them
    return unicodedata.normalize("NFKC", "".join(kept)).strip()


def is_blank(text: str) -> bool:
    """Whether ``text`` holds nothing but whitespace and format characters."""
    if text.isascii():
        return not text.strip()
    return not "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


def ascii_digits(text: str) -> str:
    """``text`` with every Unicode decimal digit written as its ASCII digit."""
    if text.isascii():
        return text
    return "".join(_ascii_digit(char) for char in text)


def _ascii_digit(char: str) -> str:
    value = unicodedata.decimal(char, None)
    return char if value is None else str(value)


def _control(char: str) -> TextError:
    return TextError(f"must not contain control characters (U+{ord(char):04X})")
