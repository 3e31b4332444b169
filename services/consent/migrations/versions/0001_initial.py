"""Consent service: kernel tables, consents with per-recipient grants, access decisions.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from divert_kernel.db import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables(op)
    op.create_table(
        "consents",
        sa.Column("consent_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("disclosing_agency", sa.Text, nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_document_sha256", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "consent_grants",
        sa.Column("consent_id", UUID(as_uuid=False), sa.ForeignKey("consents.consent_id"), primary_key=True),
        sa.Column("recipient_agency", sa.Text, primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("categories", ARRAY(sa.Text), nullable=False),
        sa.Column("purposes", ARRAY(sa.Text), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("consent_grants_lookup", "consent_grants", ["participant_id", "recipient_agency"])
    op.create_table(
        "access_decisions",
        sa.Column("decision_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("requester_agency", sa.Text, nullable=False),
        sa.Column("requester_agency_type", sa.Text, nullable=False),
        sa.Column("requester_client", sa.Text, nullable=False),
        sa.Column("acting_person", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("basis_kind", sa.Text, nullable=False),
        sa.Column("basis_id", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("access_decisions_participant", "access_decisions", ["participant_id", "decided_at"])
