"""What the PostgreSQL + Redis leg of ``.ci/run`` leaves to the SQLite leg.

``.ci/run`` runs the suite twice, once per backend the environment names
(``PINGTREE_DATABASE_URL``). The packages below never read that backend: their tests are
pure (``unit``, ``config``, ``mockbuyer``, ``delivery``), run the demo on its own SQLite
(``demo``), or take each engine as a parameter of their own (``store``: SQLite and
PostgreSQL, the SQL and the Redis cap ledgers, in either leg). In the PostgreSQL leg they
would run a second time, identically; they are deselected there, and the header says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.databases import backend_kind

#: the test packages whose tests are the same whatever backend the environment names
BACKEND_BLIND = ("unit", "config", "mockbuyer", "delivery", "demo", "store")

_TESTS = Path(__file__).parent


def pytest_report_header(config: pytest.Config) -> str:
    if backend_kind() == "postgres":
        return (
            "PostgreSQL leg: tests/{" + ",".join(BACKEND_BLIND) + "} are deselected: they"
            " read no backend from the environment and run in the SQLite leg"
        )
    return "SQLite leg: every test (store tests take SQLite and PostgreSQL as parameters)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend_kind() != "postgres":
        return
    kept: list[pytest.Item] = []
    blind: list[pytest.Item] = []
    for item in items:
        package = item.path.relative_to(_TESTS).parts[0] if item.path.is_relative_to(_TESTS) else ""
        (blind if package in BACKEND_BLIND else kept).append(item)
    if blind:
        config.hook.pytest_deselected(items=blind)
        items[:] = kept
