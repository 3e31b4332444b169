"""Kernel: an operator's request to retry a dead letter, which the service's own consumer picks up.

`divert dead-letters retry` sets `retry_requested_at`; the consumer loop that dead-lettered the event runs it
through the same handler path again (divert_kernel.dead_letters), so its effect lands once, in its projection.

Revision ID: k0002
"""

import sqlalchemy as sa
from alembic import op

revision = "k0003"
down_revision = "k0002"


def upgrade() -> None:
    op.add_column("dead_letters", sa.Column("retry_requested_at", sa.DateTime(timezone=True)))
    # Each consumer polls for its requested retries about once a second: only the requested rows are indexed.
    op.create_index(
        "dead_letters_retry_requested",
        "dead_letters",
        ["consumer", "id"],
        postgresql_where=sa.text("retry_requested_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("dead_letters_retry_requested", table_name="dead_letters")
    op.drop_column("dead_letters", "retry_requested_at")
