"""Lead first answer: what the seller's post was answered, kept apart from the lead's state.

Created 2026-12-06 15:50:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1e0f1a2b3c"
down_revision: str | Sequence[str] | None = "9412f482ba8e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_answer", sa.JSON(), nullable=True))
    # leads answered before this column existed: their answer is the best record of it
    op.execute("UPDATE leads SET first_answer = answer")


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("first_answer")
