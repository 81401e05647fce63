"""What the PostgreSQL + Redis leg of ``.ci/run`` leaves to the SQLite leg.

``.ci/run`` runs the suite twice, once per backend the environment names
(``PINGTREE_DATABASE_URL``). The packages below never read that backend: their tests are
pure (``unit``, ``config``, ``mockbuyer``, ``delivery``), run the demo on its own SQLite
(``demo``), or take each engine as a parameter of their own (``store``: SQLite and
PostgreSQL, the SQL and the Redis cap ledgers, in either leg). In the PostgreSQL leg they
would run a second time, identically; they are deselected there, and the header says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from pingtree.store import users
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


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashes() -> Iterator[None]:
    """Argon2 at its lowest cost in the test process: a hash, or a check of one, takes well
    under a millisecond instead of 125 ms, and the UI's tests make three people each and
    sign in often. The tests check what hashing does (argon2, a wrong password refused),
    not its cost; servers the tests start as processes keep the production cost."""
    real = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    try:
        yield
    finally:
        users._hasher = real
