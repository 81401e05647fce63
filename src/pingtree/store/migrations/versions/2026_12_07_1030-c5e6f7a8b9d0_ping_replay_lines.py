"""Pings' replay lines: a replay (issue 17) reads each ping's auction without the walk's
copy of its fields (most of the auction's text), stored beside it when the ping is
written; pings stored before have none and are read from ``auction`` as before.

Created 2026-12-07 10:30:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5e6f7a8b9d0"
down_revision: str | Sequence[str] | None = "b4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pings") as batch_op:
        batch_op.add_column(sa.Column("replay_line", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pings") as batch_op:
        batch_op.drop_column("replay_line")
