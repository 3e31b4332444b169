"""Case management: enrolment, consent to take part, social-contact intake targets, site settings from the
eligibility policy, and person matches.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # `status` describes enrolled participants only: null until intake.
    op.alter_column("participants", "status", nullable=True)
    op.add_column("participants", sa.Column("enrolment", sa.Text, nullable=False, server_default="referred"))
    op.add_column("participants", sa.Column("not_enrolled_reason", sa.Text))
    op.add_column("participants", sa.Column("intake_target", sa.Date))
    op.execute("UPDATE participants SET enrolment = 'enrolled' WHERE intake_status = 'completed'")
    op.execute("UPDATE participants SET status = NULL WHERE intake_status <> 'completed'")
    op.create_index("participants_enrolment", "participants", ["jurisdiction", "enrolment"])
    op.add_column("participant_referrals", sa.Column("intake_target", sa.Date))
    op.create_table(
        "consent_to_participate",
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        # The hash of the signed document; never published in an event.
        sa.Column("signed_document_sha256", sa.Text, nullable=False),
        # The ROI the consent service found on file at the moment of intake.
        sa.Column("roi_consent_id", sa.Text),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "site_settings",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("caseload_cap", sa.Integer, nullable=False),
        sa.Column("caseload_preferred", sa.Integer, nullable=False),
        sa.Column("program_capacity", sa.Integer, nullable=False),
        sa.Column("intake_extension_max_days", sa.Integer, nullable=False),
        sa.Column("intake_extensions_total_max_days", sa.Integer, nullable=False),
        sa.Column("social_contact_intake_target_days", sa.Integer, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "participant_aliases",
        sa.Column("merged_participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("survivor_participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("review_id", sa.Text, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("participant_aliases_survivor", "participant_aliases", ["survivor_participant_id"])


def downgrade() -> None:
    op.drop_table("participant_aliases")
    op.drop_table("site_settings")
    op.drop_table("consent_to_participate")
    op.drop_column("participant_referrals", "intake_target")
    op.drop_index("participants_enrolment", "participants")
    for column in ("intake_target", "not_enrolled_reason", "enrolment"):
        op.drop_column("participants", column)
    op.execute("UPDATE participants SET status = 'active' WHERE status IS NULL")
    op.alter_column("participants", "status", nullable=False)
