"""Referral service: the person index is each referring agency's own.

An RMS person id means something only in the RMS that issued it, and a name and birth date matched against
another agency's records would tell a referrer that the person is already in LEAD (and hand it their id).
Matches across agencies go to the project manager's review queue instead of linking silently.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

# The agency that first referred each person indexed it.
_FIRST_REFERRER = """
    SELECT DISTINCT ON (participant_id) participant_id, referring_agency FROM referrals
    ORDER BY participant_id, created_at, referral_id
"""


def upgrade() -> None:
    op.add_column("persons", sa.Column("indexed_by", sa.Text))
    op.add_column("person_rms_ids", sa.Column("agency", sa.Text))
    op.execute(
        f"UPDATE persons p SET indexed_by = f.referring_agency FROM ({_FIRST_REFERRER}) f "
        "WHERE f.participant_id = p.participant_id"
    )
    op.execute(
        f"UPDATE person_rms_ids i SET agency = f.referring_agency FROM ({_FIRST_REFERRER}) f "
        "WHERE f.participant_id = i.participant_id"
    )
    op.execute("UPDATE persons SET indexed_by = '' WHERE indexed_by IS NULL")
    op.execute("UPDATE person_rms_ids SET agency = '' WHERE agency IS NULL")
    op.alter_column("persons", "indexed_by", nullable=False)
    op.alter_column("person_rms_ids", "agency", nullable=False)
    op.drop_constraint("persons_rms_id", "persons")
    op.create_unique_constraint("persons_rms_id", "persons", ["jurisdiction", "indexed_by", "rms_person_id"])
    op.execute("ALTER TABLE person_rms_ids DROP CONSTRAINT person_rms_ids_pkey")
    op.create_primary_key("person_rms_ids_pkey", "person_rms_ids", ["jurisdiction", "agency", "rms_person_id"])


def downgrade() -> None:
    op.execute("ALTER TABLE person_rms_ids DROP CONSTRAINT person_rms_ids_pkey")
    op.create_primary_key("person_rms_ids_pkey", "person_rms_ids", ["jurisdiction", "rms_person_id"])
    op.drop_constraint("persons_rms_id", "persons")
    op.create_unique_constraint("persons_rms_id", "persons", ["jurisdiction", "rms_person_id"])
    op.drop_column("person_rms_ids", "agency")
    op.drop_column("persons", "indexed_by")
