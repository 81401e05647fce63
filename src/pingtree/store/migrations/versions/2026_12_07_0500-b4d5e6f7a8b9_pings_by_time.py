"""Pings by time: a replay (issue 17) reads a period's pings oldest first, 2,000 at a
time; without this index each page scanned and sorted the whole table (a week of demo
traffic, 484,000 pings, read in quadratic time).

Created 2026-12-07 05:00:00+00:00.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b4d5e6f7a8b9"
down_revision: str | Sequence[str] | None = "d0f1a2b3c4d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_pings_created_at_id", "pings", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pings_created_at_id", table_name="pings")
