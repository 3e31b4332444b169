"""Referral service: community referrals without police fields, linked participants, enrolment, field lookup.

- A community referrer has no RMS and no badge: those columns may be NULL (police referrals still carry them;
  the route requires them there).
- `referrals.rms_person_id`: the RMS person id as the referring agency gave it, so an officer's field lookup
  searches only its own agency's ids (an RMS id means nothing outside the RMS that issued it). Backfilled only
  where it is certain: a person indexed under one RMS id alone.
- `participant_links`: a resolved person match (merged id -> survivor id), flattened so one hop resolves.
- `participant_enrolment`: case management's EnrolmentChanged, for the lookup and the caseload.
- `referrals.referred_to`: where a denied social contact was referred instead.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007"
down_revision = "0006"

_NULLABLE = (
    ("persons", "rms_person_id"),
    ("referrals", "officer_badge"),
    ("referrals", "officer_name"),
    ("referrals", "rms_incident_number"),
)


def upgrade() -> None:
    for table, column in _NULLABLE:
        op.alter_column(table, column, nullable=True)
    op.add_column("referrals", sa.Column("rms_person_id", sa.Text))
    op.add_column("referrals", sa.Column("referred_to", sa.Text))
    op.execute(
        "UPDATE referrals r SET rms_person_id = p.rms_person_id FROM persons p "
        "WHERE p.participant_id = r.participant_id "
        "AND NOT EXISTS (SELECT 1 FROM person_rms_ids i WHERE i.participant_id = p.participant_id)"
    )
    op.create_index("referrals_rms_person", "referrals", ["jurisdiction", "referring_agency", "rms_person_id"])
    op.create_index("referrals_case_manager", "referrals", ["jurisdiction", "handoff_agency", "case_manager_id"])
    op.create_table(
        "participant_links",
        sa.Column("merged_participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("survivor_participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("review_id", UUID(as_uuid=False), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "participant_enrolment",
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("enrolment", sa.Text, nullable=False),
        sa.Column("not_enrolled_reason", sa.Text),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("participant_enrolment")
    op.drop_table("participant_links")
    op.drop_index("referrals_case_manager", "referrals")
    op.drop_index("referrals_rms_person", "referrals")
    op.drop_column("referrals", "referred_to")
    op.drop_column("referrals", "rms_person_id")
    for table, column in _NULLABLE:
        op.alter_column(table, column, nullable=False)
