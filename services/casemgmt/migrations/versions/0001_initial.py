"""Case-management service: kernel tables, participants and their referrals.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from divert_kernel.db import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables(op)
    op.create_table(
        "participants",
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("intake_status", sa.Text, nullable=False),
        sa.Column("intake_deadline", sa.Date),
        sa.Column("intake_completed_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "participant_referrals",
        sa.Column("referral_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), sa.ForeignKey("participants.participant_id"), nullable=False),
        sa.Column("referral_type", sa.Text, nullable=False),
        sa.Column("intake_deadline", sa.Date),
        sa.Column("intake_completed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("participant_referrals_participant", "participant_referrals", ["participant_id"])
