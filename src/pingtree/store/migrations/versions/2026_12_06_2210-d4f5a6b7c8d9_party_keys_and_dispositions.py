"""Party API keys (a buyer's or a supplier's own) and buyers' dispositions of leads.

Created 2026-12-06 22:10:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f5a6b7c8d9"
down_revision: str | Sequence[str] | None = "c3e4f5a6b7c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("supplier_id", sa.String(length=64), nullable=True))

    op.create_table(
        "dispositions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.String(length=36), nullable=False),
        sa.Column("sale_id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("vertical_id", sa.String(length=64), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(length=80), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
    )
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispositions_sale_id"), ["sale_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dispositions_reported_at"), ["reported_at"], unique=False
        )
        batch_op.create_index(
            "ix_dispositions_lead_reported", ["lead_id", "reported_at"], unique=False
        )
        batch_op.create_index(
            "ix_dispositions_buyer_reported", ["buyer_id", "reported_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("dispositions")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("supplier_id")
        batch_op.drop_column("buyer_id")
