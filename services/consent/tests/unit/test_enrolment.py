"""Issue 10, item 1 (consent side): the ROI enrolment needs is a signed one in force naming the holding provider."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from consent.domain.enrolment import HolderGrant, roi_on_file

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SIGNED = HolderGrant(
    consent_id="c1",
    state="active",
    effective_at=datetime(2026, 11, 1, tzinfo=UTC),
    expires_at=datetime(2027, 11, 1, tzinfo=UTC),
    revoked_at=None,
    created_at=datetime(2026, 11, 1, tzinfo=UTC),
)


class TestRoiOnFile:
    def test_a_signed_roi_in_force_naming_the_holder_is_on_file(self) -> None:
        assert roi_on_file([SIGNED], NOW) == "c1"

    def test_no_roi_naming_the_holder_is_none_on_file(self) -> None:
        assert roi_on_file([], NOW) is None

    @pytest.mark.parametrize(
        "change",
        [
            {"state": "draft"},
            {"state": "revoked"},
            {"state": "expired"},  # expired on program exit
            {"revoked_at": datetime(2026, 11, 20, tzinfo=UTC)},  # this recipient's grant revoked
            {"expires_at": NOW},  # expired at the clock's now
            {"effective_at": NOW + timedelta(seconds=1)},  # not yet in force
        ],
    )
    def test_an_roi_not_in_force_for_the_holder_is_not_on_file(self, change: dict) -> None:
        assert roi_on_file([replace(SIGNED, **change)], NOW) is None

    def test_expiry_follows_the_clock(self) -> None:
        assert roi_on_file([SIGNED], SIGNED.expires_at - timedelta(microseconds=1)) == "c1"
        assert roi_on_file([SIGNED], SIGNED.expires_at) is None

    def test_the_newest_roi_in_force_is_named(self) -> None:
        newer = replace(SIGNED, consent_id="c2", created_at=SIGNED.created_at + timedelta(days=1))
        draft = replace(SIGNED, consent_id="c3", state="draft", created_at=SIGNED.created_at + timedelta(days=2))
        assert roi_on_file([SIGNED, newer, draft], NOW) == "c2"
