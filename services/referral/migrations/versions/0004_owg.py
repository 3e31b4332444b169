"""Referral service: what the Operations Work Group agenda and roster need from other services' events.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("referrals", sa.Column("current_deadline", sa.Date))
    op.add_column("referrals", sa.Column("intake_completed_at", sa.DateTime(timezone=True)))
    op.add_column("referrals", sa.Column("case_manager_id", sa.Text))
    op.execute("UPDATE referrals SET current_deadline = intake_deadline")
    op.create_table(
        "owg_items",
        sa.Column("item_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("participant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("detail", JSONB, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("owg_items_when", "owg_items", ["jurisdiction", "at"])


def downgrade() -> None:
    op.drop_table("owg_items")
    for column in ("case_manager_id", "intake_completed_at", "current_deadline"):
        op.drop_column("referrals", column)
