"""Referral service: more RMS ids per person, and the review queue for ambiguous matches.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "person_rms_ids",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("rms_person_id", sa.Text, primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), sa.ForeignKey("persons.participant_id"), nullable=False),
    )
    op.create_index(
        "persons_name_dob",
        "persons",
        ["jurisdiction", sa.text("lower(last_name)"), sa.text("date_of_birth"), sa.text("lower(first_name)")],
    )
    op.create_table(
        "person_match_reviews",
        sa.Column("review_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("candidate_participant_ids", ARRAY(UUID(as_uuid=False)), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("resolution", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_index("person_match_reviews_open", "person_match_reviews", ["jurisdiction", "status", "created_at"])


def downgrade() -> None:
    op.drop_table("person_match_reviews")
    op.drop_index("persons_name_dob", "persons")
    op.drop_table("person_rms_ids")
