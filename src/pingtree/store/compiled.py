"""A Core statement compiled once for a dialect, and bound to its parameters in the
driver's positional form: the very SQL and values SQLAlchemy would send
(:class:`pingtree.store.prepared.Prepared` sends them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import TupleType
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

__all__ = ["Compiled", "result_columns"]

Params = Mapping[str, Any]


def _bind_converter(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How SQLAlchemy converts a value of ``type_`` for ``dialect``'s driver (the type as the
    dialect implements it: SQLite's own datetime format, its JSON serializer)."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def result_columns(statement: Executable) -> list[Any]:
    """A select's columns or a ``RETURNING``'s (none for other statements)."""
    return list(getattr(statement, "exported_columns", ()))


class Compiled:
    """One statement compiled for ``dialect`` with the parameters ``names``.

    Its SQL depends on how many values each expanding parameter (``IN``) has: for each such
    shape, the expanded SQL and where each of its positional values comes from are worked
    out once (``construct_expanded_state`` costs more than SQLite running a small statement).
    """

    __slots__ = ("_compiled", "_converters", "_defaults", "_expanding", "_processors", "_shapes")

    def __init__(self, statement: Executable, dialect: Dialect, names: tuple[str, ...]) -> None:
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        assert isinstance(compiled, SQLCompiler)
        processors: dict[str, Callable[[Any], Any]] = {}
        expanding: list[str] = []
        for name, bind in compiled.binds.items():
            if bind.expanding:
                # the expanded values are sent as they are: refuse a type that converts them
                types = bind.type.types if isinstance(bind.type, TupleType) else [bind.type]
                if any(_bind_converter(t, dialect) is not None for t in types):
                    raise TypeError(f"the expanding parameter {name!r} needs its values converted")
                expanding.append(name)
                continue
            processor = _bind_converter(bind.type, dialect)
            if processor is not None:
                processors[name] = processor
        # the values the statement carries itself (``.values(status="sending")``), and an
        # insert's columns not given that have a default SQLAlchemy would fill in
        defaults: dict[str, Any] = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if name not in names and not bind.expanding and not bind.required
        }
        for column in compiled.insert_prefetch:
            default = column.default
            if default is None or not default.is_scalar:
                raise TypeError(f"the column {column.key!r} needs its default computed")
            defaults[column.key] = getattr(default, "arg", None)
        converters = [
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in result_columns(statement)
        ]
        self._converters = converters if any(converters) else None
        self._compiled = compiled
        self._processors = processors
        self._defaults = defaults
        self._expanding = tuple(expanding)
        self._shapes: dict[tuple[int, ...], tuple[str, list[_Source]]] = {}

    def bind(self, params: Params) -> tuple[str, tuple[Any, ...]]:
        """The SQL and its positional values for ``params``."""
        if self._defaults:
            params = {**self._defaults, **params}
        flat = {name: _flatten(params[name]) for name in self._expanding}
        shape = tuple(len(values) for values in flat.values())
        known = self._shapes.get(shape)
        if known is None:
            known = self._shapes[shape] = self._expand(params)
        sql, sources = known
        return sql, tuple(
            flat[name][index]
            if index >= 0
            else (processor(params[name]) if processor is not None else params[name])
            for name, index, processor in sources
        )

    def bind_many(self, rows: Sequence[Params]) -> tuple[str, list[tuple[Any, ...]]]:
        """The SQL and the positional values of each of ``rows`` (an executemany's; the
        rows give the same parameters, so they share the SQL)."""
        bound = [self.bind(row) for row in rows]
        return bound[0][0], [values for _, values in bound]

    def convert(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        """The driver's rows with their values converted by the result columns' types."""
        converters = self._converters
        if converters is None:
            return rows
        return [
            tuple(
                convert(value) if convert is not None and value is not None else value
                for convert, value in zip(converters, row, strict=True)
            )
            for row in rows
        ]

    def _expand(self, params: Params) -> tuple[str, list[_Source]]:
        state = self._compiled.construct_expanded_state(params)
        expanded_from = {
            expanded: (name, index)
            for name, names in state.parameter_expansion.items()
            for index, expanded in enumerate(names)
        }
        sources: list[_Source] = []
        for position in state.positiontup or ():
            name, index = expanded_from.get(position, (position, -1))
            sources.append((name, index, self._processors.get(name)))
        return state.statement, sources


#: a positional value: its parameter's name, its index among the parameter's flattened
#: values (``-1``: the parameter's own value) and the type's converter
_Source = tuple[str, int, "Callable[[Any], Any] | None"]


def _flatten(values: Sequence[Any]) -> list[Any]:
    """An expanding parameter's values as SQLAlchemy expands them (tuples element-wise)."""
    return (
        [v for value in values for v in value]
        if values and isinstance(values[0], tuple)
        else list(values)
    )
