"""Consent service: the participants known in each jurisdiction (from referrals), so a site grant to named
agencies covers the site's own participants only, never an id from elsewhere or none at all.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "known_participants",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )
    # Participants already related to an agency were known before this table existed.
    op.execute(
        "INSERT INTO known_participants (jurisdiction, participant_id, since) "
        "SELECT jurisdiction, participant_id, min(since) FROM participant_relations "
        "GROUP BY jurisdiction, participant_id"
    )


def downgrade() -> None:
    op.drop_table("known_participants")
