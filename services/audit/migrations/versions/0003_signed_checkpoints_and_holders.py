"""Audit service: entry hashes over every stored field, signed checkpoints, who holds each participant.

Entries already in the chain keep their version-1 hash (`hash_version` 1): rehashing them here would also
launder any tampering done before this migration, and would orphan the checkpoints already published. New
entries are hashed with version 2. The old checkpoints were unsigned, so anyone who could write the database
could have forged them: they are kept for the record in `audit_checkpoints_v1_unsigned`, and the next seal
signs the head, legacy entries included.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0002"

HANDOFF = "org.divert.referral.WarmHandoffCompleted.v1"


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("hash_version", sa.SmallInteger, nullable=False, server_default="1"))
    op.alter_column("audit_log", "hash_version", server_default=None)
    op.rename_table("audit_checkpoints", "audit_checkpoints_v1_unsigned")
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("checkpoint_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )
    op.create_table(
        "participant_holders",
        sa.Column("participant_id", sa.Text, primary_key=True),
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("agency", sa.Text, nullable=False),
        sa.Column("handed_off_at", sa.DateTime(timezone=True), nullable=False),
    )
    # The holder table is a projection of the log: fill it from the hand-offs already recorded.
    op.execute(
        sa.text(
            """
            INSERT INTO participant_holders (participant_id, jurisdiction, agency, handed_off_at)
            SELECT DISTINCT ON (lower(entry->'data'->>'participant_id'), entry->>'jurisdiction')
                   lower(entry->'data'->>'participant_id'), entry->>'jurisdiction',
                   entry->'data'->>'case_management_agency', CAST(entry->'data'->>'completed_at' AS timestamptz)
            FROM audit_log
            WHERE entry->>'type' = :handoff AND entry->'data'->>'case_management_agency' IS NOT NULL
              AND entry->>'jurisdiction' IS NOT NULL AND entry->'data'->>'participant_id' IS NOT NULL
            ORDER BY lower(entry->'data'->>'participant_id'), entry->>'jurisdiction',
                     CAST(entry->'data'->>'completed_at' AS timestamptz) DESC, seq DESC
            """
        ).bindparams(handoff=HANDOFF)
    )
    op.create_index(
        "disclosures_break_glass",
        "disclosures",
        ["jurisdiction", sa.text("decided_at DESC"), sa.text("decision_id DESC")],
        postgresql_where=sa.text("purpose = 'BTG' OR 'break_glass' = ANY(flags)"),
    )


def downgrade() -> None:
    op.drop_index("disclosures_break_glass", table_name="disclosures")
    op.drop_table("participant_holders")
    op.drop_table("audit_checkpoints")
    op.rename_table("audit_checkpoints_v1_unsigned", "audit_checkpoints")
    op.drop_column("audit_log", "hash_version")
