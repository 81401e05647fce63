"""Notes and contacts on buyers and suppliers.

Created 2026-12-06 22:30:00+00:00.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6b7c8d9e0f1"
down_revision: str | Sequence[str] | None = "e5a6b7c8d9e0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "party_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_notes")),
    )
    with op.batch_alter_table("party_notes", schema=None) as batch_op:
        batch_op.create_index("ix_party_notes_party_created", ["party", "created_at"], unique=False)

    op.create_table(
        "party_contacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_contacts")),
    )
    with op.batch_alter_table("party_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_contacts_party"), ["party"], unique=False)


def downgrade() -> None:
    op.drop_table("party_contacts")
    op.drop_table("party_notes")
