"""Audit service: the accounting of disclosures and sealed checkpoints.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "disclosures",
        sa.Column("decision_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("requester_agency", sa.Text, nullable=False),
        sa.Column("requester_agency_type", sa.Text, nullable=False),
        sa.Column("acting_person", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("basis_kind", sa.Text, nullable=False),
        sa.Column("basis_id", sa.Text),
        sa.Column("flags", ARRAY(sa.Text), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "disclosures_newest_first",
        "disclosures",
        ["participant_id", sa.text("decided_at DESC"), sa.text("decision_id DESC")],
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("disclosures")
