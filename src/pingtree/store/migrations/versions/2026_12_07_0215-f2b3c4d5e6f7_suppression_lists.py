"""Suppression lists: HMACs of phones and emails a campaign's quality step refuses or
flags (issue 15).

Created 2026-12-07 02:15:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2b3c4d5e6f7"
down_revision: str | Sequence[str] | None = "b8d9e0f1a2b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppression_keys",
        sa.Column("list_id", sa.String(length=64), nullable=False),
        sa.Column("key_hmac", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("list_id", "key_hmac", name=op.f("pk_suppression_keys")),
    )
    op.create_index("ix_suppression_keys_key_hmac", "suppression_keys", ["key_hmac"])


def downgrade() -> None:
    op.drop_index("ix_suppression_keys_key_hmac", table_name="suppression_keys")
    op.drop_table("suppression_keys")
