"""Invoices for buyers and payout statements for suppliers, numbered once issued.

Created 2026-12-06 22:40:00+00:00.
"""

from collections.abc import Sequence

revision: str = "a7c8d9e0f1a2"
down_revision: str | Sequence[str] | None = "f6b7c8d9e0f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
