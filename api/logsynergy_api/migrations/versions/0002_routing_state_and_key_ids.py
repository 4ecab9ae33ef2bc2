"""routing revision row; API keys keep a digest-derived label, not the key's first characters

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    routing = op.create_table(
        "routingstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(routing, [{"id": 1, "revision": 0}])
    # the label `security.key_id` gives: "lsk_" and the digest's first 4 hex digits
    op.execute("UPDATE apikey SET prefix = 'lsk_' || substr(key_hash, 1, 4)")


def downgrade() -> None:
    op.drop_table("routingstate")  # the old prefixes (the keys' first characters) are not restored
