"""anomaly history: incidents (windows grouped by template pattern) and the flagged windows

Revision ID: 0003_anomalies
Revises: 0002
Create Date: 2026-12-10 12:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_anomalies"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES: dict[str, tuple[str, ...]] = {
    "incident": ("status", "system_id", "tenant_id", "verdict"),
    "anomaly": ("incident_id", "received", "system_id", "tenant_id", "verdict"),
}


def _judgement() -> list[sa.Column]:
    return [
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("judged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("pattern", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        *_judgement(),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["system_id"], ["system.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system_id", "pattern"),
    )
    op.create_table(
        "anomaly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("window_index", sa.Integer(), nullable=False),
        sa.Column("received", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("stream_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("session", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("pattern", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("new_templates", sa.JSON(), nullable=False),
        *_judgement(),
        sa.Column("archive_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.ForeignKeyConstraint(["system_id"], ["system.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "window_index"),
    )
    for table, columns in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def downgrade() -> None:
    for table in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in INDEXES[table]:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
