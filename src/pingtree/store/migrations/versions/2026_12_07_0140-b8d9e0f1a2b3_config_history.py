"""Configuration history: every version's entities kept, so a trace's "why not" can be
rebuilt from the configuration its ping ran on (issue 18). The entities stored now start
the history at the current version.

Created 2026-12-07 01:40:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8d9e0f1a2b3"
down_revision: str | Sequence[str] | None = "a7c8d9e0f1a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_history",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", "version", name=op.f("pk_config_history")),
    )
    op.execute(
        "INSERT INTO config_history (kind, id, version, parent_id, spec, archived) "
        "SELECT e.kind, e.id, s.version, e.parent_id, e.spec, e.archived "
        "FROM config_entities e JOIN config_state s ON s.id = 1"
    )


def downgrade() -> None:
    op.drop_table("config_history")
