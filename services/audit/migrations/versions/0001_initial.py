"""Audit service: kernel tables and the hash-chained log.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from divert_kernel.db import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables(op)
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry", JSONB, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    # The head is kept apart from the rows so that deleting the newest entries is detected too.
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))")
