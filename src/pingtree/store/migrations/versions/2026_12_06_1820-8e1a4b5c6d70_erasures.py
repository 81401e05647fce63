"""Erasures: the audit trail of erased consumers, and when each lead's PII was erased.

Created 2026-12-06 18:20:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e1a4b5c6d70"
down_revision: str | Sequence[str] | None = "7c3d9e2f4a61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("older_than", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
    )
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasures_created_at"), ["created_at"], unique=False)
    # a new nullable column: SQLite adds it in place, no copy of the table
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasures_created_at"))
    op.drop_table("erasures")
