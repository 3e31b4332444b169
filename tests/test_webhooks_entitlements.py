"""The entitlement table (contracts/divert_contracts/entitlements.py) and the target rules, without any I/O."""

from __future__ import annotations

import pytest

from divert_contracts import entitlements
from divert_gateway.domain.webhooks import RETRY_SCHEDULE, TargetRefused, check_target, next_retry
from divert_kernel.events import _REGISTRY

RELATED = {"referrer": {"seattle-pd"}, "charge_holder": {"kc-prosecutor"}, "handoff_provider": {"reach-cm"}}


def test_intake_completion_goes_to_the_referrer_and_the_charge_holder_as_assessment() -> None:
    found = entitlements.entitlement("casemgmt", "IntakeCompleted")
    assert found is not None and found.category == "assessment"
    got = entitlements.recipients("casemgmt", "IntakeCompleted", "reach-cm", RELATED)
    assert got == {"seattle-pd": "referrer", "kc-prosecutor": "charge_holder", "reach-cm": "own"}


def test_court_dates_go_to_the_provider_holding_the_case_as_court_dates() -> None:
    got = entitlements.recipients("prosecution", "CourtDateScheduled", "kc-prosecutor", RELATED)
    assert got == {"reach-cm": "handoff_provider", "kc-prosecutor": "own"}
    assert entitlements.entitlement("prosecution", "CourtDateScheduled").category == "court_dates"  # type: ignore[union-attr]


def test_held_charge_events_disclose_the_referral_category() -> None:
    for name in ("HeldChargeDeadlineMoved", "IntakeDeadlineLapsed", "DivertedChargeClosed", "HeldChargeFiled"):
        assert entitlements.entitlement("prosecution", name).category == "referral"  # type: ignore[union-attr]


def test_an_agency_always_receives_its_own_records_and_no_one_else_gets_them_unlisted() -> None:
    assert entitlements.recipients("casemgmt", "InterventionPlanUpdated", "reach-cm", RELATED) == {"reach-cm": "own"}
    assert entitlements.recipients("consent", "AccessDecided", "reach-cm", RELATED) == {}  # not in the table


def test_every_entry_names_a_contract() -> None:
    registered = {(service, name) for service, name, _ in _REGISTRY}
    assert set(entitlements.ENTITLEMENTS) <= registered


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/x",
        "https://localhost/x",
        "https://[::1]/x",
        "https://user:pw@example.org/x",
        "ftp://example.org/x",
        "https:///nohost",
    ],
)
def test_targets_must_be_https_and_public_outside_development(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_target(url, allow_private=False)


def test_development_allows_loopback() -> None:
    assert check_target("http://127.0.0.1:9/hook", allow_private=True)


def test_the_schedule_gives_up_after_eight_attempts() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert [next_retry(n, now) for n in range(1, 8)] == [now + d for d in RETRY_SCHEDULE[1:]]
    assert next_retry(8, now) is None
