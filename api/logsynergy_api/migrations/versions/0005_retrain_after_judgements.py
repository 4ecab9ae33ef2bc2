"""systems may retrain by themselves after a number of operators' judgements

Revision ID: 0005_retrain_after_judgements
Revises: 0004_hook_format
Create Date: 2026-12-12 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_retrain_after_judgements"
down_revision = "0004_hook_format"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("system") as batch:
        batch.add_column(sa.Column("retrain_after_judgements", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("system") as batch:
        batch.drop_column("retrain_after_judgements")
