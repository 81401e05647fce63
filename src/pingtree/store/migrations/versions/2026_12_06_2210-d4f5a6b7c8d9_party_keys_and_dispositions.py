"""Party API keys (a buyer's or a supplier's own) and buyers' dispositions of leads.

Created 2026-12-06 22:10:00+00:00.
"""

from collections.abc import Sequence

revision: str = "d4f5a6b7c8d9"
down_revision: str | Sequence[str] | None = "c3e4f5a6b7c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
