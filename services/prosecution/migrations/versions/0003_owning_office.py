"""Prosecution: each held charge and case names the office that owns it (DESIGN §5: owner = jurisdiction, agency).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # Charges held before offices were named stay NULL: they belong to the site's prosecutor office, which the
    # site directory (deployment settings, not this database) names at read time.
    op.add_column("held_charges", sa.Column("prosecutor_agency", sa.Text))
    op.add_column("cases", sa.Column("agency", sa.Text))
    # The registering office is the authenticated caller recorded with the case's first event.
    op.execute(
        """
        UPDATE cases c SET agency = e.metadata->'actor'->>'agency'
        FROM events e
        WHERE e.stream_id = 'case-' || c.case_id::text AND e.type = 'LegacyCaseRegistered'
        """
    )
    op.create_index("cases_office", "cases", ["jurisdiction", "agency"])
    op.create_index("held_charges_office", "held_charges", ["jurisdiction", "prosecutor_agency", "status"])


def downgrade() -> None:
    op.drop_index("held_charges_office", "held_charges")
    op.drop_index("cases_office", "cases")
    op.drop_column("cases", "agency")
    op.drop_column("held_charges", "prosecutor_agency")
