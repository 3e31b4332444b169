"""Prosecution: charging references, lapse, known participants, legacy and post-diversion cases, court dates.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("held_charges", sa.Column("charging_reference", sa.Text))
    op.add_column("held_charges", sa.Column("lapsed_at", sa.DateTime(timezone=True)))
    op.create_table(
        "known_participants",
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("case_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("docket_number", sa.Text, nullable=False),
        sa.Column("court", sa.Text, nullable=False),
        sa.Column("charges", JSONB, nullable=False),
        sa.Column("filed_at", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("cases_participant", "cases", ["participant_id"])
    op.create_table(
        "case_reviews",
        sa.Column("review_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.case_id"), nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        # The prosecutor's reasoning stays here; events carry only the decision code.
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("reviewed_by", sa.Text, nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("case_reviews_case", "case_reviews", ["case_id", "reviewed_at"])
    op.create_table(
        "court_dates",
        sa.Column("court_date_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.case_id"), nullable=False),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hearing", sa.Text, nullable=False),
        sa.Column("court", sa.Text, nullable=False),
    )
    op.create_index("court_dates_participant", "court_dates", ["participant_id", "scheduled_for"])


def downgrade() -> None:
    for table in ("court_dates", "case_reviews", "cases", "known_participants"):
        op.drop_table(table)
    op.drop_column("held_charges", "lapsed_at")
    op.drop_column("held_charges", "charging_reference")
