"""Configured JSONPaths: compiled on RE2 and checked to run in linear time (pure).

A response rule's JSONPath comes from configuration and runs on a buyer's answer, on the
event loop, inside the ping's deadline. python-jsonpath would run a filter's regex
(``=~ /…/`` and the ``match``/``search`` functions) on Python's ``re``, where
``(a+)+$`` against 26 characters takes seconds. Here every such pattern runs on RE2
(linear time, DESIGN §8.6): :data:`JSONPATH_ENV` parses ``/…/`` literals with RE2 and its
``match``/``search`` compile with RE2 too (a pattern read from the answer included).

The shape of a path is bounded as well, so its cost grows with the answer's size, not with
a power of it: at most one recursive descent (``..``) in a path; inside a filter, no
``..`` and no ``$`` (each is a walk of the whole answer per node filtered); no ``|`` or
``&`` (a rule reads one path). Any other path is refused when the configuration is
applied, with the reason.

Linear is not yet cheap: python-jsonpath spends a few microseconds a node, so a filter over
a 256 KB array of numbers would hold the event loop for 0.4 s. :func:`first_match`
therefore evaluates with a budget of :data:`MAX_JSONPATH_STEPS` steps (a node visited, a
member looked up, a filter tested) and gives up past it.

Errors: :func:`compile_jsonpath` raises ``ValueError`` with the config message;
:func:`first_match` raises :class:`JSONPathOverBudget` past its budget, and python-jsonpath's
own errors (``JSONPathRecursionError`` past 100 levels of ``..``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import jsonpath
import re2
from jsonpath.filter import (
    BaseExpression,
    FilterExpressionLiteral,
    FilterQuery,
    FunctionExtension,
    RegexLiteral,
    RootFilterQuery,
    StringLiteral,
)
from jsonpath.function_extensions import Match, Search
from jsonpath.match import JSONPathMatch
from jsonpath.segments import JSONPathRecursiveDescentSegment
from jsonpath.selectors import Filter, KeysFilter, SingularQuerySelector
from jsonpath.stream import TokenStream
from jsonpath.token import TOKEN_RE_FLAGS

__all__ = [
    "JSONPATH_ENV",
    "MAX_JSONPATH_STEPS",
    "JSONPathOverBudget",
    "compile_jsonpath",
    "compile_re2",
    "first_match",
]

#: steps one evaluation may take (about 60 ms): `$..price` over ~10,000 objects and arrays
MAX_JSONPATH_STEPS = 20_000

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad configured pattern is reported as a config issue
_RE2_OPTIONS.max_mem = 8 << 20

#: RE2 spells python-jsonpath's ``/…/i``, ``m`` and ``s`` flags inline; ``a`` (ASCII
#: classes) is what RE2 does anyway
_INLINE_FLAGS = {"i": "i", "m": "m", "s": "s", "a": ""}

#: a pattern's explanation when RE2 refuses it
_RE2_HINT = "RE2 runs in linear time: no backreferences or lookaround"


def compile_re2(pattern: str) -> Any:
    """``pattern`` compiled on RE2 (linear time). Raises ``ValueError`` with RE2's reason."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise ValueError(f"not an RE2 pattern: {reason}") from None


class _Re2Literal(RegexLiteral):
    """A ``/pattern/flags`` literal holding an RE2 pattern (``env.compare`` calls its
    ``fullmatch`` for ``=~``)."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"/{self.value.pattern}/"


class _PatternRefused(jsonpath.JSONPathSyntaxError):
    """A filter's regex that RE2 does not compile (the message is the config issue)."""


class _Re2Parser(jsonpath.Parser):
    def parse_regex(self, stream: TokenStream) -> BaseExpression:
        token = stream.current()
        pattern = token.value
        inline = ""
        if stream.peek().kind == TOKEN_RE_FLAGS:
            stream.next()
            inline = "".join(sorted({_INLINE_FLAGS[flag] for flag in stream.next().value}))
        source = f"(?{inline}){pattern}" if inline else pattern
        try:
            return _Re2Literal(value=compile_re2(source))
        except ValueError as exc:
            raise _PatternRefused(
                f"filter pattern /{pattern}/ {exc} ({_RE2_HINT})", token=token
            ) from None


class _Re2Patterns:
    """``match``/``search`` compiling their pattern with RE2; a pattern RE2 refuses
    matches nothing (RFC 9535: a bad pattern is no error at run time)."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def check_cache(self, pattern: str) -> Any:
        try:
            return self._cache[pattern]
        except KeyError:
            pass
        try:
            compiled = compile_re2(pattern)
        except ValueError:
            compiled = None
        if len(self._cache) >= 256:  # patterns read from answers must not grow it forever
            self._cache.clear()
        self._cache[pattern] = compiled
        return compiled


class _Re2Match(_Re2Patterns, Match):
    pass


class _Re2Search(_Re2Patterns, Search):
    pass


class JSONPathOverBudget(jsonpath.JSONPathError):
    """An evaluation took more than :data:`MAX_JSONPATH_STEPS` steps."""


class _Steps:
    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


#: the budget of the evaluation running in this context (``None``: not counted)
_STEPS: ContextVar[_Steps | None] = ContextVar("jsonpath_steps", default=None)


def _step() -> None:
    steps = _STEPS.get()
    if steps is not None:
        steps.left -= 1
        if steps.left < 0:
            raise JSONPathOverBudget(f"over {MAX_JSONPATH_STEPS} steps")


class _CountedMatch(JSONPathMatch):
    """A match whose every child (a node a segment visits) counts one step."""

    __slots__ = ()

    def new_child(self, obj: object, key: int | str) -> JSONPathMatch:
        _step()
        return super().new_child(obj, key)


class _Environment(jsonpath.JSONPathEnvironment):
    parser_class = _Re2Parser

    def setup_function_extensions(self) -> None:
        super().setup_function_extensions()
        self.function_extensions["match"] = _Re2Match()
        self.function_extensions["search"] = _Re2Search()

    # a member looked up and a filter tested count one step each, inside filters too
    def getitem(self, obj: Any, key: Any) -> Any:
        _step()
        return super().getitem(obj, key)

    def is_truthy(self, obj: object) -> bool:
        _step()
        return super().is_truthy(obj)

    def compare(self, left: object, operator: str, right: object) -> bool:
        _step()
        return super().compare(left, operator, right)


#: the one environment configured JSONPaths are compiled in
JSONPATH_ENV = _Environment()

#: the pattern argument of these functions is compiled at apply time when it is a literal
_PATTERN_FUNCTIONS = frozenset({"match", "search"})


def compile_jsonpath(raw: str) -> jsonpath.JSONPath:
    """``raw`` compiled in :data:`JSONPATH_ENV` and checked to run in linear time
    (module docstring). Raises ``ValueError``: not a JSONPath, a filter pattern RE2 does
    not compile, ``|``/``&``, more than one ``..``, ``..`` or ``$`` inside a filter."""
    try:
        path = JSONPATH_ENV.compile(raw)
    except _PatternRefused as exc:
        raise ValueError(exc.args[0]) from None
    except jsonpath.JSONPathError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"not a JSONPath: {first_line}") from None
    except RecursionError:
        raise ValueError("not a JSONPath: nested too deeply") from None
    if not isinstance(path, jsonpath.JSONPath):
        raise ValueError("a rule reads one JSONPath: no | or &")
    descents = sum(1 for _ in _descents(path, in_filter=False))
    if descents > 1:
        raise ValueError(
            f"{descents} recursive descents (..): at most one, each walks the whole answer"
        )
    return path


def first_match(path: jsonpath.JSONPath, data: object) -> JSONPathMatch | None:
    """The first match of ``path`` (from :func:`compile_jsonpath`) in ``data``, or
    ``None``, in at most :data:`MAX_JSONPATH_STEPS` steps. Raises
    :class:`JSONPathOverBudget` past them, and python-jsonpath's errors."""
    token = _STEPS.set(_Steps(MAX_JSONPATH_STEPS))
    try:
        root = _CountedMatch(
            filter_context={},
            obj=[data] if path.pseudo_root else data,
            parent=None,
            path=JSONPATH_ENV.root_token,
            parts=(),
            root=data,  # type: ignore[arg-type]  # any JSON value, as python-jsonpath takes
        )
        matches: Iterable[JSONPathMatch] = [root]
        for segment in path.segments:
            matches = segment.resolve(matches)
        return next(iter(matches), None)
    finally:
        _STEPS.reset(token)


def _descents(path: jsonpath.JSONPath, *, in_filter: bool) -> Iterator[None]:
    """One item per ``..`` of ``path`` outside filters; raises ``ValueError`` for a
    filter that would walk the whole answer once per node, or a literal pattern RE2
    refuses."""
    for segment in path.segments:
        if isinstance(segment, JSONPathRecursiveDescentSegment):
            if in_filter:
                raise ValueError(
                    "a recursive descent (..) inside a filter walks the answer once per node"
                )
            yield None
        for selector in segment.selectors:
            if isinstance(selector, Filter | KeysFilter):
                _check_filter(selector.expression)
            elif isinstance(selector, SingularQuerySelector):
                yield from _descents(selector.query, in_filter=True)


def _check_filter(expression: BaseExpression) -> None:
    if isinstance(expression, RootFilterQuery):
        raise ValueError("a filter reads the current node (@), not the root ($)")
    if isinstance(expression, FilterQuery):
        for _ in _descents(expression.path, in_filter=True):
            pass
        return
    if isinstance(expression, FunctionExtension) and expression.name in _PATTERN_FUNCTIONS:
        pattern = expression.args[1] if len(expression.args) > 1 else None
        if isinstance(pattern, StringLiteral):
            try:
                compile_re2(pattern.value)
            except ValueError as exc:
                raise ValueError(
                    f"{expression.name}() pattern {pattern.value!r} {exc} ({_RE2_HINT})"
                ) from None
    if isinstance(expression, FilterExpressionLiteral):
        return
    for child in expression.children():
        _check_filter(child)
