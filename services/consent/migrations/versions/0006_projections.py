"""Consent service: its read models become projections of events; break-glass reasons become records.

The written reason for break-glass never travels in an event, so a rebuild of `break_glass` from its events
cannot yield it: it moves to `break_glass_reasons`, a record written by the command and kept by a rebuild. A
consent's `created_at` becomes the time its first event was stored (what a rebuild sees), rather than the
service's clock a few milliseconds before: aligned here for the consents already recorded.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "break_glass_reasons",
        sa.Column("break_glass_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.execute(
        "INSERT INTO break_glass_reasons (break_glass_id, reason) SELECT break_glass_id, reason FROM break_glass"
    )
    op.drop_column("break_glass", "reason")
    op.execute(
        """
        UPDATE consents c SET created_at = e.recorded_at FROM events e
        WHERE e.stream_id = 'consent-' || c.consent_id::text AND e.version = 1
        """
    )


def downgrade() -> None:
    op.add_column("break_glass", sa.Column("reason", sa.Text))
    op.execute(
        "UPDATE break_glass b SET reason = r.reason FROM break_glass_reasons r WHERE r.break_glass_id = b.break_glass_id"
    )
    op.execute("UPDATE break_glass SET reason = '' WHERE reason IS NULL")
    op.alter_column("break_glass", "reason", nullable=False)
    op.drop_table("break_glass_reasons")
