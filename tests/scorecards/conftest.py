"""The scorecards and the notes run against the same real server as the API tests."""

from __future__ import annotations

from tests.api.conftest import clock, market
from tests.reports.conftest import db

__all__ = ["clock", "db", "market"]
