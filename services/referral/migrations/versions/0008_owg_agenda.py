"""Referral service: the OWG agenda's read model, projected from other services' events (issue 10, item 6).

- `owg_settings`: the site's OWG look-back and time zone, from the newest `EligibilityPolicyAmended`.
- `owg_enrolment`: where each person stands (case management's `EnrolmentChanged`).
- `owg_charges`: held charges whose intake window lapsed, and what ended the lapse (the prosecutor's decision,
  an OWG extension, or a late intake closing the charge). `charge_agency` is the office holding the charge.
- `owg_cases`: legacy and post-diversion cases, awaiting review or due for a follow-up (`agency` holds them).
- `owg_plans` and `owg_contacts`: the case-plan summary (version, goal count) and contacts by day.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0008"
down_revision = "0007"


def _id(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, UUID(as_uuid=False), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "owg_settings",
        sa.Column("jurisdiction", sa.Text, primary_key=True),
        sa.Column("lookback_days", sa.Integer, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "owg_enrolment",
        _id("participant_id", primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("enrolment", sa.Text, nullable=False),
        sa.Column("not_enrolled_reason", sa.Text),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "owg_charges",
        _id("referral_id", primary_key=True),
        _id("participant_id", nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("charge_agency", sa.Text),
        sa.Column("lapsed_deadline", sa.Date),
        sa.Column("lapsed_at", sa.DateTime(timezone=True)),
        sa.Column("resolution", sa.Text),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_index("owg_charges_lapsed", "owg_charges", ["jurisdiction", "lapsed_at"])
    op.create_table(
        "owg_cases",
        sa.Column("case_id", sa.Text, primary_key=True),
        _id("participant_id", nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("agency", sa.Text),
        sa.Column("kind", sa.Text),
        sa.Column("docket_number", sa.Text),
        sa.Column("court", sa.Text),
        sa.Column("charge_codes", ARRAY(sa.Text)),
        sa.Column("filed_at", sa.Date),
        sa.Column("registered_at", sa.DateTime(timezone=True)),
        sa.Column("decision", sa.Text),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("follow_up_on", sa.Date),
    )
    op.create_index("owg_cases_jurisdiction", "owg_cases", ["jurisdiction"])
    op.create_table(
        "owg_plans",
        _id("participant_id", primary_key=True),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("plan_version", sa.Integer, nullable=False),
        sa.Column("goal_count", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "owg_contacts",
        sa.Column("contact_id", sa.Text, primary_key=True),
        _id("participant_id", nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
    )
    op.create_index("owg_contacts_when", "owg_contacts", ["jurisdiction", "occurred_on"])


def downgrade() -> None:
    for table in ("owg_contacts", "owg_plans", "owg_cases", "owg_charges", "owg_enrolment", "owg_settings"):
        op.drop_table(table)
