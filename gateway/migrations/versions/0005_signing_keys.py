"""Gateway: the token signing keys in the gateway's database (every replica signs with and publishes the same
set), and a per-client bound below which its tokens are refused (disabling a client revokes its live tokens).

Revision ID: 0004_signing_keys
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_signing_keys"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text, primary_key=True),
        # The private JWK: whoever reads this table can sign tokens, as whoever read the key file could before.
        sa.Column("private_jwk", JSONB, nullable=False),
        # Published from creation; signs from active_from, so every verifier has fetched it before it is needed.
        sa.Column("active_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Tokens issued at or before this instant (their `iat`) are refused by the gateway and every service.
    op.add_column("oauth_clients", sa.Column("tokens_not_before", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("oauth_clients", "tokens_not_before")
    op.drop_table("signing_keys")
