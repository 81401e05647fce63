"""Users bound to a party: a ``supplier`` or ``buyer`` user names the one supplier or buyer
it sees (DESIGN §9), and each user has a time zone (IANA name) for reports.

Created 2026-12-06 19:00:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c2e3f4a5b6"
down_revision: str | Sequence[str] | None = "9f2b5c6d7e81"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supplier_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("buyer_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
        batch_op.drop_column("buyer_id")
        batch_op.drop_column("supplier_id")
