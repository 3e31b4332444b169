"""Kernel: Idempotency-Key records, written in the same transaction as the command they guard.

Kernel migrations run in every service database after the service's own, with their own version table
(`kernel_alembic_version`), so the kernel's tables never wait on, or collide with, a service's migrations.

Revision ID: k0001
"""

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_sha256", sa.Text, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("body", sa.LargeBinary),
        sa.Column("content_type", sa.Text),
        sa.Column("location", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Records live a day (divert_kernel.idempotency purges them): a service keeps no partner's answers longer.
    op.create_index("idempotency_records_age", "idempotency_records", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_records")
