"""Set aside: rows a background writer could not store, kept with their error.

Created 2026-12-06 16:10:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3d9e2f4a61"
down_revision: str | Sequence[str] | None = "5a1e0f1a2b3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "set_aside",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("writer", sa.String(length=32), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_set_aside")),
    )
    with op.batch_alter_table("set_aside", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_set_aside_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("set_aside", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_set_aside_created_at"))
    op.drop_table("set_aside")
