"""Consent service: drafts, wording versions, §2.35 irrevocability, expiry on exit, site grants, break-glass.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("consents", sa.Column("state", sa.Text, nullable=False, server_default="active"))
    op.add_column("consents", sa.Column("wording_version", sa.Text, nullable=False, server_default="unspecified"))
    op.add_column("consents", sa.Column("expires_on_event", sa.Text))
    op.add_column("consents", sa.Column("expired_at", sa.DateTime(timezone=True)))
    op.alter_column("consents", "signed_document_sha256", nullable=True)
    op.add_column("consent_grants", sa.Column("irrevocable_until", sa.DateTime(timezone=True)))
    op.create_index("consents_participant", "consents", ["participant_id"])
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
    op.create_table(
        "break_glass",
        sa.Column("break_glass_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("requester_agency", sa.Text, nullable=False),
        sa.Column("requester_agency_type", sa.Text, nullable=False),
        sa.Column("acting_person", sa.Text),
        sa.Column("categories", ARRAY(sa.Text), nullable=False),
        # The written reason stays here, in the consent service's own database; it never travels in an event.
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("invoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("break_glass_lookup", "break_glass", ["participant_id", "requester_agency"])
    op.add_column(
        "access_decisions", sa.Column("flags", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'"))
    )


def downgrade() -> None:
    op.drop_column("access_decisions", "flags")
    op.drop_table("break_glass")
    op.drop_table("site_grants")
    op.drop_index("consents_participant", "consents")
    op.drop_column("consent_grants", "irrevocable_until")
    for column in ("expired_at", "expires_on_event", "wording_version", "state"):
        op.drop_column("consents", column)
