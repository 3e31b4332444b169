"""Referral service: kernel tables, person index, referrals read model.

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
        "persons",
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("rms_person_id", sa.Text, nullable=False),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("race", sa.Text, nullable=False),
        sa.Column("ethnicity", sa.Text, nullable=False),
        sa.Column("gender", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("jurisdiction", "rms_person_id", name="persons_rms_id"),
    )
    op.create_table(
        "referrals",
        sa.Column("referral_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("participant_id", UUID(as_uuid=False), sa.ForeignKey("persons.participant_id"), nullable=False),
        sa.Column("referral_type", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("referring_agency", sa.Text, nullable=False),
        sa.Column("officer_badge", sa.Text, nullable=False),
        sa.Column("officer_name", sa.Text, nullable=False),
        sa.Column("rms_incident_number", sa.Text, nullable=False),
        sa.Column("offense_codes", ARRAY(sa.Text), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("intake_deadline", sa.Date),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("referrals_participant", "referrals", ["participant_id"])
