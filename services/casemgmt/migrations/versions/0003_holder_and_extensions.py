"""Case management: the provider that holds each participant's records, and the reasons for extensions.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # The case-management provider named in the latest warm hand-off; NULL until a hand-off names one.
    op.add_column("participants", sa.Column("holder", sa.Text))
    op.create_index("participants_holder", "participants", ["jurisdiction", "holder"])
    op.create_table(
        "intake_extensions",
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("extended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_deadline", sa.Date, nullable=False),
        sa.Column("to_deadline", sa.Date, nullable=False),
        sa.Column("granted_by", sa.Text, nullable=False),
        sa.Column("law_enforcement_agency", sa.Text, nullable=False),
        # Free text stays here: the IntakeDeadlineExtended event never carries it.
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("intake_extensions_participant", "intake_extensions", ["participant_id", "extended_at"])


def downgrade() -> None:
    op.drop_table("intake_extensions")
    op.drop_index("participants_holder", "participants")
    op.drop_column("participants", "holder")
