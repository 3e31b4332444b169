"""Gateway: Idempotency-Key answers of the gateway's own POSTs (webhook endpoints, feed replay), each recorded in
the same transaction as the command's effect. The proxy's `idempotency_keys` only serialise in-flight attempts of
proxied POSTs (the owning service records those); a separate table keeps the two from overwriting each other.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "idempotency_answers",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_sha256", sa.Text, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("body", sa.LargeBinary),
        sa.Column("content_type", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Answers are kept a day (adapters/answers.py purges them): the gateway keeps no partner's answers longer.
    op.create_index("idempotency_answers_age", "idempotency_answers", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_answers")
