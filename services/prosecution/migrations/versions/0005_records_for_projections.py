"""Prosecution: what case events do not carry moves to record tables, so the case read models are projections.

`case_records` (each charge's description) and `case_review_records` (a review's id, rationale and author, under
the case stream's version of its event) are written by the command handlers and never rebuilt. A review's `seq`
becomes its event's position (no longer an identity of its own), so a rebuild reproduces it.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0005"
down_revision = "0004"

# The n-th review of a case (in the order it was kept) is the n-th LegacyCaseReviewed of the case's stream.
_REVIEW_EVENTS = """
    SELECT r.review_id, e.version, e.position
    FROM (SELECT review_id, case_id, row_number() OVER (PARTITION BY case_id ORDER BY seq) AS n FROM case_reviews) r
    JOIN (SELECT version, position, stream_id,
                 row_number() OVER (PARTITION BY stream_id ORDER BY version) AS n
          FROM events WHERE type = 'LegacyCaseReviewed') e
      ON e.stream_id = 'case-' || r.case_id::text AND e.n = r.n
"""


def upgrade() -> None:
    op.create_table(
        "case_records",
        sa.Column("case_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("charges", JSONB, nullable=False),
    )
    op.create_table(
        "case_review_records",
        sa.Column("case_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("stream_version", sa.Integer, primary_key=True),
        sa.Column("review_id", UUID(as_uuid=False), nullable=False, unique=True),
        # The prosecutor's reasoning stays here; events carry only the decision code.
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("reviewed_by", sa.Text, nullable=False),
    )
    op.execute("INSERT INTO case_records (case_id, charges) SELECT case_id, charges FROM cases")
    op.execute(
        f"""
        INSERT INTO case_review_records (case_id, stream_version, review_id, rationale, reviewed_by)
        SELECT r.case_id, m.version, r.review_id, r.rationale, r.reviewed_by
        FROM case_reviews r JOIN ({_REVIEW_EVENTS}) m ON m.review_id = r.review_id
        """
    )
    op.execute("ALTER TABLE case_reviews ALTER COLUMN seq DROP IDENTITY")
    op.execute(f"UPDATE case_reviews r SET seq = m.position FROM ({_REVIEW_EVENTS}) m WHERE m.review_id = r.review_id")


def downgrade() -> None:
    op.execute("ALTER TABLE case_reviews ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY")
    op.drop_table("case_review_records")
    op.drop_table("case_records")
