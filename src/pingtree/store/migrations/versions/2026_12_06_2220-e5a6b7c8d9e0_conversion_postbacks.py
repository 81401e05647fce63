"""Conversion postbacks: the campaign's templated server-to-server URL, through a durable outbox.

Created 2026-12-06 22:20:00+00:00.
"""

from collections.abc import Sequence

revision: str = "e5a6b7c8d9e0"
down_revision: str | Sequence[str] | None = "d4f5a6b7c8d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
