"""Prosecution: why a charge closed, where each participant stands, linked records, site time zones, follow-ups.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # intake_completed or participant_enrolled; every charge closed before this revision was closed by intake.
    op.add_column("held_charges", sa.Column("closed_reason", sa.Text))
    op.execute("UPDATE held_charges SET closed_reason = 'intake_completed' WHERE status = 'closed_by_intake'")
    # What case management last said of each participant: enrolled or not, and exited or not. The times are the
    # source's recording times, so a fact that arrives late never overwrites a newer one.
    op.create_table(
        "participant_standing",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("enrolled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("enrolment_at", sa.DateTime(timezone=True)),
        sa.Column("exited", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status_at", sa.DateTime(timezone=True)),
    )
    # A merged record reads as its survivor; kept flat (every survivor here is itself merged into no one).
    op.create_table(
        "participant_links",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("merged_participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("survivor_participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("review_id", sa.Text, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("participant_links_survivor", "participant_links", ["jurisdiction", "survivor_participant_id"])
    # The site's time zone from its newest eligibility policy: deadlines are local calendar dates.
    op.create_table(
        "site_time_zones",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
    )
    op.add_column("case_reviews", sa.Column("follow_up_on", sa.Date))


def downgrade() -> None:
    op.drop_column("case_reviews", "follow_up_on")
    op.drop_table("site_time_zones")
    op.drop_index("participant_links_survivor", "participant_links")
    op.drop_table("participant_links")
    op.drop_table("participant_standing")
    op.drop_column("held_charges", "closed_reason")
