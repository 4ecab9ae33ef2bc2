"""alert hooks choose their payload format: LogSynergy's own or Alertmanager's webhook

Revision ID: 0004_hook_format
Revises: 0003_anomalies
Create Date: 2026-12-11 12:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_hook_format"
down_revision = "0003_anomalies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerthook") as batch:
        batch.add_column(
            sa.Column(
                "format",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="logsynergy",  # the hooks made before: LogSynergy's payload, as they had
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("alerthook") as batch:
        batch.drop_column("format")
