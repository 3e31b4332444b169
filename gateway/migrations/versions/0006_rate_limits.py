"""Gateway: rate-limit counters, shared by every gateway replica (in-memory counters would split across them).

Revision ID: 0005_rate_limits
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_rate_limits"
down_revision = "0004_signing_keys"


def upgrade() -> None:
    # One row per limit key and window (the `limits` library's fixed window): a count and when the window ends.
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("rate_limit_counters_expiry", "rate_limit_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_table("rate_limit_counters")
