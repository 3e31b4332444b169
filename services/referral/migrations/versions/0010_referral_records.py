"""Referral: what referral events do not carry moves to `referral_records`, so `referrals` is a projection.

The officer's name, the incident's place and time, the RMS ids, excluded factors present and the free text of
decisions (decline reason, hand-off place, OWG reason and referral elsewhere) are written by the command
handlers into `referral_records` and kept by a rebuild; the `referrals` row is projected from the events.

Revision ID: 0010
"""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE referral_records AS
        SELECT referral_id, officer_name, rms_incident_number, offense_codes, occurred_at, location,
               exclusions_present, rms_person_id, decline_reason, handoff_location, owg_reason, referred_to
        FROM referrals
        """
    )
    op.execute("ALTER TABLE referral_records ADD PRIMARY KEY (referral_id)")


def downgrade() -> None:
    op.drop_table("referral_records")
