"""Case management: assignment and caseloads, the initial screening form, plan versions, contacts.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("participants", sa.Column("case_manager_id", sa.Text))
    op.create_index("participants_case_manager", "participants", ["jurisdiction", "case_manager_id", "status"])
    op.create_table(
        "initial_screenings",
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("form", JSONB, nullable=False),
        sa.Column("screened_by", sa.Text, nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "plan_versions",
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("plan_version", sa.Integer, primary_key=True),
        sa.Column("goals", JSONB, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "contacts",
        sa.Column("contact_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("staff_id", sa.Text, nullable=False),
        # Free-text notes never leave case management except through the gate.
        sa.Column("notes", sa.Text),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("contacts_participant", "contacts", ["participant_id", "occurred_on"])


def downgrade() -> None:
    for table in ("contacts", "plan_versions", "initial_screenings"):
        op.drop_table(table)
    op.drop_index("participants_case_manager", "participants")
    op.drop_column("participants", "case_manager_id")
