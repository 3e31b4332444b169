"""Consent service: relations to participants (from events), the site's MOU as recorded versions.

The API-issued site grants go: they were type-wide and self-issued. Their history stays in the event store
(SiteGrantIssued, SiteGrantWithdrawn); no decision relies on them any more.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "participant_relations",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), primary_key=True),
        # handoff_provider (one per participant: a later hand-off replaces it) or charge_holder.
        sa.Column("relation", sa.Text, primary_key=True),
        sa.Column("agency", sa.Text, primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False),
    )
    op.create_index("participant_relations_by_agency", "participant_relations", ["jurisdiction", "relation", "agency"])
    op.create_table(
        "site_mou_versions",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("approved_by", sa.Text, nullable=False),
        sa.Column("terms", JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.drop_table("site_grants")


def downgrade() -> None:
    op.create_table(
        "site_grants",
        sa.Column("grant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("recipient_agency_type", sa.Text, nullable=False),
        sa.Column("recipient_agency", sa.Text),
        sa.Column("categories", ARRAY(sa.Text), nullable=False),
        sa.Column("purposes", ARRAY(sa.Text), nullable=False),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    )
    op.create_index("site_grants_lookup", "site_grants", ["jurisdiction", "recipient_agency_type"])
    op.drop_table("site_mou_versions")
    op.drop_index("participant_relations_by_agency", "participant_relations")
    op.drop_table("participant_relations")
