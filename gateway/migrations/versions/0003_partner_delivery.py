"""Gateway: partner delivery. The kernel's tables (the delivery component is a durable consumer of every stream),
the relations it learns from events, webhook endpoints, one message per (endpoint, event) and its attempt log.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from divert_kernel.db import create_kernel_tables

revision = "0003"
down_revision = "0002"

_NOW = sa.func.now()


def upgrade() -> None:
    create_kernel_tables(op)
    op.create_table(
        "delivery_relations",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("referral_id", sa.Text, primary_key=True),
        sa.Column("relation", sa.Text, primary_key=True),
        sa.Column("agency", sa.Text, primary_key=True),
        sa.Column("participant_id", sa.Text, nullable=False),
    )
    op.create_index("delivery_relations_participant", "delivery_relations", ["jurisdiction", "participant_id"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("endpoint_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("agency", sa.Text, nullable=False),
        sa.Column("agency_type", sa.Text, nullable=False),
        sa.Column("jurisdictions", ARRAY(sa.Text), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("event_types", ARRAY(sa.Text), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text),
        # Signing needs the secret itself; the previous one keeps signing until previous_until.
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_until", sa.DateTime(timezone=True)),
        sa.Column("failing_since", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("webhook_endpoints_agency", "webhook_endpoints", ["agency"])
    op.create_table(
        "webhook_messages",
        sa.Column("endpoint_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("participant_id", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index(
        "webhook_messages_due", "webhook_messages", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )
    # One message per (agency, event) for its NATS feed, feeds.<jurisdiction>.<agency>.<EventType>.
    op.create_table(
        "feed_messages",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("agency", sa.Text, primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("agency_type", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("participant_id", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "feed_messages_due", "feed_messages", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("attempt_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("endpoint_id", UUID(as_uuid=False), nullable=False),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("next_retry_at", sa.DateTime(timezone=True)),
    )
    op.create_index("webhook_attempts_endpoint", "webhook_attempts", ["endpoint_id", "attempt_id"])


def downgrade() -> None:
    for table in ("webhook_attempts", "feed_messages", "webhook_messages", "webhook_endpoints", "delivery_relations"):
        op.drop_table(table)
