"""Referral service: eligibility policy versions, screenings, discretion records, the referral lifecycle.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "eligibility_policies",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("policy_version", sa.Integer, primary_key=True),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("amended_by", sa.Text, nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "screenings",
        sa.Column("screening_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("referral_type", sa.Text, nullable=False),
        sa.Column("offense_codes", ARRAY(sa.Text), nullable=False),
        sa.Column("exclusions_present", ARRAY(sa.Text), nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("reasons", JSONB, nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("screened_by", sa.Text, nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "discretion_records",
        sa.Column("record_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("offense_codes", ARRAY(sa.Text), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("officer_badge", sa.Text, nullable=False),
        sa.Column("race", sa.Text, nullable=False),
        sa.Column("ethnicity", sa.Text, nullable=False),
        sa.Column("gender", sa.Text, nullable=False),
        sa.Column("age_band", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    for name, kind in (
        ("exclusions_present", ARRAY(sa.Text)),
        ("decline_reason", sa.Text),
        ("handoff_case_manager", sa.Text),
        ("handoff_location", sa.Text),
        ("handoff_at", sa.DateTime(timezone=True)),
        ("owg_decided_by", sa.Text),
        ("owg_reason", sa.Text),
        ("owg_decided_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("referrals", sa.Column(name, kind))


def downgrade() -> None:
    for name in (
        "exclusions_present",
        "decline_reason",
        "handoff_case_manager",
        "handoff_location",
        "handoff_at",
        "owg_decided_by",
        "owg_reason",
        "owg_decided_at",
    ):
        op.drop_column("referrals", name)
    for table in ("discretion_records", "screenings", "eligibility_policies"):
        op.drop_table(table)
