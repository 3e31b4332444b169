"""Every cell ever suppressed, per jurisdiction and year: later releases start from it, so suppression only grows.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # A cell is (period, stage, view, group) of one jurisdiction's year. Rows are only ever added (insert if
    # absent): a cell once withheld stays withheld, or the next release, read beside this one, would give it away.
    # Not a projection table: a rebuild of the facts leaves it alone.
    op.create_table(
        "evaluation_suppressed_cells",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("stage", sa.Text, primary_key=True),
        sa.Column("view", sa.Text, primary_key=True),
        sa.Column("grp", sa.Text, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("evaluation_suppressed_cells")
