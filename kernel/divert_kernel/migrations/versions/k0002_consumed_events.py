"""Kernel: the foreign events a service consumed, kept so its read models can be rebuilt from events alone.

Each row takes its `seq` from the event store's own sequence (`events.position`), so a service's own events and
the foreign events it took in form one order, which a rebuild replays (divert_kernel.rebuild). Additive: a
database that consumed events before this revision has no copy of them; `processed_events` rows without one
mark that history, and a rebuild refuses to run over it (see divert_kernel.rebuild).

Revision ID: k0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "k0002"
down_revision = "k0001"


def upgrade() -> None:
    sequence = op.get_bind().execute(sa.text("SELECT pg_get_serial_sequence('events', 'position')")).scalar_one()
    op.create_table(
        "consumed_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, server_default=sa.text(f"nextval('{sequence}'::regclass)")),
        sa.Column("consumer", sa.Text, nullable=False),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False),
        # The CloudEvent as received: ids, codes, dates (events never carry personal data).
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("consumer", "event_id", name="consumed_events_once"),
    )


def downgrade() -> None:
    op.drop_table("consumed_events")
