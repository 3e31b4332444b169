"""Referral service: the program's capacity as case management reports it, for the social-contact waitlist.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "program_capacity",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("active_participants", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("program_capacity")
