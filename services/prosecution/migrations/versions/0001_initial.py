"""Prosecution service: kernel tables and the held-charges read model.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from divert_kernel.db import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables(op)
    op.create_table(
        "held_charges",
        sa.Column("referral_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("offense_codes", ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("intake_deadline", sa.Date, nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
    )
    # Intakes seen before their DiversionOffered arrived (streams are not ordered against each other).
    op.create_table(
        "completed_intakes",
        sa.Column("referral_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("held_charges_participant", "held_charges", ["participant_id"])
    op.create_index("held_charges_deadline", "held_charges", ["jurisdiction", "status", "intake_deadline"])
