"""Gateway: registered OAuth2 clients.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.Text, primary_key=True),
        # Secrets are 256-bit random strings, so a plain SHA-256 is enough; a slow hash guards guessable passwords.
        sa.Column("secret_sha256", sa.Text, nullable=False),
        sa.Column("agency_id", sa.Text, nullable=False),
        sa.Column("agency_type", sa.Text, nullable=False),
        sa.Column("jurisdictions", ARRAY(sa.Text), nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("oauth_clients")
