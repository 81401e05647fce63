"""Delivery chains: one row per step after a sold lead's post (issue 16).

Created 2026-12-07 02:20:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0f1a2b3c4d5"
down_revision: str | Sequence[str] | None = "f2b3c4d5e6f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_steps",
        sa.Column("sale_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sale_id", "position", name=op.f("pk_chain_steps")),
    )
    with op.batch_alter_table("chain_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_steps_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_chain_steps_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chain_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_steps_status_due")
        batch_op.drop_index(batch_op.f("ix_chain_steps_lead_id"))
    op.drop_table("chain_steps")
