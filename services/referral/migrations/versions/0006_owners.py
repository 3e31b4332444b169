"""Referral service: who holds what the meeting views show (DESIGN §5, owner = jurisdiction + agency).

`referrals.handoff_agency` is the case-management provider named in the warm hand-off: from then on it holds
the participant's case-management records (intake, case manager). `owg_items.owner_agency` is the agency that
recorded an item (the envelope's actor). NULL in both: no agency holds it, so every viewer needs a decision.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("referrals", sa.Column("handoff_agency", sa.Text))
    op.add_column("owg_items", sa.Column("owner_agency", sa.Text))


def downgrade() -> None:
    op.drop_column("owg_items", "owner_agency")
    op.drop_column("referrals", "handoff_agency")
