"""Consent service: person matches (a merged participant id reads as its survivor), and a participant's consents
paged newest first.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "participant_aliases",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("merged_participant_id", UUID(as_uuid=False), primary_key=True),
        # Always the final survivor: a later link re-points earlier aliases, so one lookup resolves any id.
        sa.Column("survivor_participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("review_id", sa.Text, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False),
    )
    op.create_index("participant_aliases_survivor", "participant_aliases", ["jurisdiction", "survivor_participant_id"])
    op.create_index(
        "consents_participant_newest", "consents", ["participant_id", "jurisdiction", "created_at", "consent_id"]
    )


def downgrade() -> None:
    op.drop_index("consents_participant_newest", "consents")
    op.drop_index("participant_aliases_survivor", "participant_aliases")
    op.drop_table("participant_aliases")
