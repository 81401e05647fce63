"""Notes and contacts on buyers and suppliers.

Created 2026-12-06 22:30:00+00:00.
"""

from collections.abc import Sequence

revision: str = "f6b7c8d9e0f1"
down_revision: str | Sequence[str] | None = "e5a6b7c8d9e0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
