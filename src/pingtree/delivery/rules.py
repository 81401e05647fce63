"""Response rules: read one thing from a buyer's answer, and test it (pure).

A rule reads by one kind (a small registry, :data:`RULE_KINDS`): ``json`` (a JSONPath,
first match), ``xpath`` (first node or the expression's value), ``regex`` (RE2 on the body
text: the first group, or the whole match without groups), ``status`` (the status code
when it is one of the listed codes) or ``header`` (the header's value). A JSON ``null``
and an empty XPath result read as absent.

It may then test what it read: ``equals`` (case-insensitive, after trimming, against the
value's text: ``true``, ``1``, ``Y``…), ``matches`` (RE2 search), ``present`` and the
number comparisons ``gt``, ``ge``, ``lt``, ``le`` (exact decimals; a value that is not a
plain number, such as ``"abc"`` or ``"NaN"``, fails them). A rule
*holds* when the value is present and passes every test (``present: false``: when the
value is absent). A value rule (bid, token…) yields its value only when it holds.

Errors: builders raise ``ValueError`` with the config message; reading raises
``AnswerError`` when the body the rule needs cannot be read (code ``unreadable``, or
``unsafe_xml``/``too_large`` from the XML parser).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import jsonpath
import orjson
from lxml import etree

from pingtree.delivery.errors import AnswerError, AnswerErrorCode
from pingtree.delivery.jsonpaths import (
    MAX_JSONPATH_STEPS,
    JSONPathOverBudget,
    compile_jsonpath,
    compile_re2,
    first_match,
)
from pingtree.delivery.xml import parse_buyer_xml

__all__ = [
    "COMPARISONS",
    "RULE_KINDS",
    "AnswerBody",
    "CompiledRule",
    "Reader",
    "compile_re2",
    "value_text",
]


class AnswerBody:
    """A buyer's answer as the rules see it; the body is parsed lazily, at most once.

    ``headers`` are looked up case-insensitively.
    """

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.body = body
        self._headers = {name.lower(): value for name, value in headers.items()}
        self._json: object = _UNSET
        self._xml: Any = _UNSET
        self._text: str | None = None

    def header(self, name: str) -> str | None:
        return self._headers.get(name.lower())

    def text(self) -> str:
        if self._text is None:
            self._text = self.body.decode("utf-8", errors="replace")
        return self._text

    def json(self) -> object:
        if self._json is _UNSET:
            try:
                # .NET buyers often start their JSON with a UTF-8 byte order mark
                self._json = orjson.loads(self.body.removeprefix(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError as exc:
                raise AnswerError(AnswerErrorCode.UNREADABLE, f"invalid JSON: {exc}") from None
        return self._json

    def xml(self) -> Any:
        if self._xml is _UNSET:
            self._xml = parse_buyer_xml(self.body)
        return self._xml


_UNSET: Any = object()


class Reader(Protocol):
    def read(self, answer: AnswerBody) -> object | None:
        """The value read, or ``None`` when absent."""
        ...


@dataclass(frozen=True, slots=True)
class _JsonReader:
    path: jsonpath.JSONPath  # from compile_jsonpath: RE2 patterns, linear in the answer

    def read(self, answer: AnswerBody) -> object | None:
        data = answer.json()
        try:
            match = first_match(self.path, data)
        except RecursionError:
            # `$..x` over a deeply nested body: buyer garbage, not a crash
            raise AnswerError(AnswerErrorCode.UNREADABLE, "JSON nested too deeply") from None
        except JSONPathOverBudget:
            # a huge answer: reading on would hold every other ping on the event loop
            raise AnswerError(
                AnswerErrorCode.UNREADABLE, f"JSONPath over {MAX_JSONPATH_STEPS} steps"
            ) from None
        except jsonpath.JSONPathError as exc:
            raise AnswerError(AnswerErrorCode.UNREADABLE, f"JSONPath failed: {exc}") from None
        return None if match is None else match.obj


@dataclass(frozen=True, slots=True)
class _JsonStepsReader:
    """A JSONPath that only names members and list positions (``$.result.bids[0].price``,
    most buyers' rules): read by plain lookups, the same value as the path would match."""

    steps: tuple[str | int, ...]

    def read(self, answer: AnswerBody) -> object | None:
        data = answer.json()
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(data, dict):
                    return None
                data = data.get(step)
            elif isinstance(data, list):
                if step >= len(data):
                    return None
                data = data[step]
            elif isinstance(data, dict):  # as JSONPath does: `[0]` names the member "0"
                data = data.get(str(step))
            else:
                return None
        return data


#: ``$`` then ``.name`` or ``[index]`` steps, nothing else (see :class:`_JsonStepsReader`)
_PLAIN_JSONPATH = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])+")
_PLAIN_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]")


@dataclass(frozen=True, slots=True)
class _XPathReader:
    xpath: Any  # lxml.etree.XPath

    def read(self, answer: AnswerBody) -> object | None:
        root = answer.xml()
        try:
            result = self.xpath(root)
        except etree.XPathError as exc:
            raise AnswerError(AnswerErrorCode.UNREADABLE, f"XPath failed: {exc}") from None
        if isinstance(result, list):
            if not result:
                return None
            result = result[0]
        if isinstance(result, etree._Element):
            return "".join(result.itertext())
        if isinstance(result, bool | float | str):
            return result
        return str(result)


@dataclass(frozen=True, slots=True)
class _RegexReader:
    pattern: Any  # re2._Regexp

    def read(self, answer: AnswerBody) -> object | None:
        match = self.pattern.search(answer.text())
        if match is None:
            return None
        value: str | None = match.group(1) if self.pattern.groups else match.group(0)
        return value


@dataclass(frozen=True, slots=True)
class _StatusReader:
    codes: frozenset[int]

    def read(self, answer: AnswerBody) -> object | None:
        return answer.status if answer.status in self.codes else None


@dataclass(frozen=True, slots=True)
class _HeaderReader:
    name: str

    def read(self, answer: AnswerBody) -> object | None:
        return answer.header(self.name)


def _json_kind(raw: object) -> Reader:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("a JSONPath such as $.status")
    path = compile_jsonpath(raw)
    plain = raw.strip()
    if _PLAIN_JSONPATH.fullmatch(plain):
        return _JsonStepsReader(
            tuple(name or int(index) for name, index in _PLAIN_STEP.findall(plain))
        )
    return _JsonReader(path)


def _xpath_kind(raw: object) -> Reader:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("an XPath such as /response/status")
    _check_xpath_cost(raw)
    try:
        # regexp=False: EXSLT regular expressions would run configured patterns on `re`
        return _XPathReader(etree.XPath(raw, regexp=False, smart_strings=False))
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"not an XPath: {exc}") from None


#: string literals, blanked before the shape of an XPath is looked at
_XPATH_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")
#: axes whose node-sets, merged over many context nodes, cost the square of the answer
_XPATH_WIDE_AXIS = re.compile(r"\b(?:ancestor|following|preceding)(?:-or-self|-sibling)?\s*::")
_XPATH_DESCENT = re.compile(r"//|\bdescendant(?:-or-self)?\s*::")


def _check_xpath_cost(raw: str) -> None:
    """Refuse an XPath whose cost grows faster than the answer (libxml2 cannot be
    interrupted): ``ancestor``, ``following`` and ``preceding`` axes, more than one
    descent (``//``), a descent inside a predicate. ``//a//a//a//a`` takes 70 s on a
    256 KB answer nested 200 deep."""
    shape = _XPATH_LITERAL.sub("''", raw)
    wide = _XPATH_WIDE_AXIS.search(shape)
    if wide is not None:
        axis = wide.group(0).split(":")[0].strip()
        raise ValueError(f"the {axis} axis is not allowed: read down the tree from / or //")
    descents = list(_XPATH_DESCENT.finditer(shape))
    if len(descents) > 1:
        raise ValueError(f"{len(descents)} descents (//): at most one, each walks the answer")
    for found in descents:
        before = shape[: found.start()]
        if before.count("[") > before.count("]"):
            raise ValueError("a descent (//) inside a predicate walks the answer once per node")


def _regex_kind(raw: object) -> Reader:
    if not isinstance(raw, str) or not raw:
        raise ValueError("an RE2 pattern")
    return _RegexReader(compile_re2(raw))


def _status_kind(raw: object) -> Reader:
    if not isinstance(raw, list) or not raw:
        raise ValueError("a list of HTTP status codes")
    codes = frozenset(raw)
    if not all(isinstance(code, int) and 100 <= code <= 599 for code in codes):
        raise ValueError("status codes are integers from 100 to 599")
    return _StatusReader(codes)


def _header_kind(raw: object) -> Reader:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("a header name")
    return _HeaderReader(raw.strip())


#: rule kinds: the key in the spec and a builder raising ``ValueError`` for a bad value
RULE_KINDS: Mapping[str, Callable[[object], Reader]] = {
    "json": _json_kind,
    "xpath": _xpath_kind,
    "regex": _regex_kind,
    "status": _status_kind,
    "header": _header_kind,
}


def value_text(value: object) -> str:
    """The text a test compares and a value rule yields: booleans ``true``/``false``,
    whole floats without ``.0``, objects and lists as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One compiled rule: a reader and its tests (``None`` for a test not configured)."""

    reader: Reader
    #: case-folded, trimmed texts
    equals: frozenset[str] | None = None
    matches: Any = None  # re2 pattern
    present: bool | None = None
    #: number comparisons: (``gt``/``ge``/``lt``/``le``, the bound), all must pass
    bounds: tuple[tuple[str, Decimal], ...] = ()

    def holds(self, answer: AnswerBody) -> bool:
        """Whether the rule holds on ``answer``. Raises ``AnswerError`` if the body it
        reads cannot be read, or reading it fails in any way (never another exception)."""
        value, passes = self._evaluate(answer)
        if self.present is False:
            return value is None
        return passes

    def value(self, answer: AnswerBody) -> object | None:
        """What the rule reads when it holds, else ``None``. Raises like :meth:`holds`."""
        value, passes = self._evaluate(answer)
        return value if passes else None

    def _evaluate(self, answer: AnswerBody) -> tuple[object | None, bool]:
        try:
            value = self.reader.read(answer)
            return value, value is not None and self._passes(value)
        except AnswerError:
            raise
        except Exception as exc:  # a buyer's answer is never a crash
            # RecursionError from a value nested too deeply, a library's own failure…:
            # the answer cannot be read by this rule, which is the buyer's error outcome
            raise AnswerError(
                AnswerErrorCode.UNREADABLE, f"rule failed: {type(exc).__name__}"
            ) from None

    def _passes(self, value: object) -> bool:
        text = value_text(value).strip()
        if self.equals is not None and text.casefold() not in self.equals:
            return False
        if self.matches is not None and self.matches.search(text) is None:
            return False
        if self.bounds:
            number = _number(text)
            if number is None:
                return False
            return all(COMPARISONS[op](number, bound) for op, bound in self.bounds)
        return True


#: number comparisons, by their name in a spec (rules' tests, an order's floor)
COMPARISONS: Mapping[str, Callable[[Decimal, Decimal], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
#: a plain decimal number as a buyer writes one: no exponent, no NaN, no thousands
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _number(text: str) -> Decimal | None:
    if len(text) > 64 or not _NUMBER.fullmatch(text):
        return None
    return Decimal(text)
