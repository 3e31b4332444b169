"""Evaluation service: kernel tables and the participant-level facts its counts are built from.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from divert_kernel.db import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables(op)
    # One row per event that moves someone along the continuum: ids, codes and times, never free text. Nothing
    # here is ever served; only counts over it are (DESIGN §7b). Rebuilt from the streams by replaying them.
    op.create_table(
        "evaluation_facts",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("participant_id", sa.Text, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_index("evaluation_facts_by_jurisdiction", "evaluation_facts", ["jurisdiction", "at"])
    op.create_index("evaluation_facts_by_participant", "evaluation_facts", ["participant_id"])
