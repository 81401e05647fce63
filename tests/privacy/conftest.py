"""The privacy tests run against the same real server as the API and UI tests (SQLite, or
PostgreSQL + Redis when ``PINGTREE_DATABASE_URL`` names PostgreSQL), with one person per
role to sign in as."""

from __future__ import annotations

from tests.web.conftest import market

__all__ = ["market"]
