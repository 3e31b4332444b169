"""Webhooks on the whole system as `make run` starts it: a referral made through the gateway reaches the referring
police agency's endpoint after intake, signed, as the CloudEvent; each delivery about another agency's records is
a consent-gate decision, recorded; a deny never arrives; a revocation between two attempts stops the retry."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import System
from tests.partner import Partner, enrol, hand_off, referral_body, roi_naming, until_created
from tests.webhook_receiver import Receiver

EVENTS = ["DiversionOffered", "DiversionAccepted", "WarmHandoffCompleted", "IntakeCompleted"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def subscribe(police: Partner, receiver: Receiver) -> dict:
    created = police.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": EVENTS})
    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")
    receiver.secrets.append(created.json()["secret"])
    return created.json()


def intake_of(receiver: Receiver, participant_id: str) -> list:
    return [
        d
        for d in receiver.deliveries
        if d.body["type"] == "org.divert.casemgmt.IntakeCompleted.v1"
        and d.body["data"]["participant_id"] == participant_id
    ]


def wait(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        time.sleep(0.1)


def referred(system: System, tag: str, *, roi_for_police: bool) -> tuple[dict, str | None]:
    police, cm = system.partner("police"), system.partner("case_management")
    created = police.post("/v1/referrals", json=referral_body(f"P-WH-{tag}")).json()
    hand_off(police, cm, created)
    consent_id = None
    if roi_for_police:
        roi = roi_naming(created["participant_id"], {police.client["agency_id"]: ["care_coordination"]})
        recorded = until_created(lambda: cm.post("/v1/consents", json=roi))
        assert recorded.status_code == 201, recorded.text
        consent_id = recorded.json()["consent_id"]
    return created, consent_id


def test_intake_reaches_the_referring_police_agency_signed_as_the_cloudevent(
    system: System, receiver: Receiver
) -> None:
    police, cm = system.partner("police"), system.partner("case_management")
    subscribe(police, receiver)
    created, _ = referred(system, "OK", roi_for_police=True)
    assert enrol(cm, created["participant_id"]).status_code == 200
    wait(lambda: intake_of(receiver, created["participant_id"]))
    [delivery] = intake_of(receiver, created["participant_id"])
    assert delivery.headers["webhook-id"] == delivery.body["id"]
    assert delivery.body["specversion"] == "1.0" and delivery.body["jurisdiction"] == "seattle-king-county"
    # Its own records arrive too (no decision needed), and none failed verification.
    assert any(d.body["type"].endswith("DiversionOffered.v1") for d in receiver.deliveries)
    assert receiver.unverified == 0
    # The decision reaches the participant's accounting (the audit service hears of it asynchronously).
    cm.wait_for(
        f"/v1/participants/{created['participant_id']}/disclosures",
        lambda r: any(
            i["recipient_agency"] == police.client["agency_id"] and i["category"] == "assessment"
            for i in r.json().get("items", [])
        ),
    )


def test_a_denied_delivery_never_arrives_and_is_recorded(system: System, receiver: Receiver) -> None:
    police, cm = system.partner("police"), system.partner("case_management")
    endpoint = subscribe(police, receiver)
    created, _ = referred(system, "DENY", roi_for_police=False)
    assert enrol(cm, created["participant_id"]).status_code == 200
    log = f"/v1/webhook-endpoints/{endpoint['endpoint_id']}/deliveries"
    police.wait_for(log, lambda r: any(i["outcome"] == "denied" for i in r.json()["items"]), timeout=60)
    assert intake_of(receiver, created["participant_id"]) == []
    system.partner("auditor").wait_for(
        f"/v1/participants/{created['participant_id']}/disclosures",
        lambda r: any(
            i["recipient_agency"] == police.client["agency_id"]
            and i["decision"] == "deny"
            and i["category"] == "assessment"
            for i in r.json().get("items", [])
        ),
        params={"include_denied": "true"},
        timeout=60,
    )


def test_a_revocation_between_two_attempts_stops_the_retry(system: System, receiver: Receiver) -> None:
    police, cm = system.partner("police"), system.partner("case_management")
    refused: list[str] = []

    def answer(body: dict) -> int:
        if body["type"].endswith("IntakeCompleted.v1"):
            refused.append(body["id"])
            return 503
        return 204

    receiver.answer = answer
    endpoint = subscribe(police, receiver)
    created, consent_id = referred(system, "REVOKE", roi_for_police=True)
    assert enrol(cm, created["participant_id"]).status_code == 200
    wait(lambda: refused)  # the first attempt was permitted and failed; the retry comes 5 s later
    assert (
        cm.post(
            f"/v1/consents/{consent_id}/revocation", json={"recipient_agency": police.client["agency_id"]}
        ).status_code
        == 200
    )
    log = f"/v1/webhook-endpoints/{endpoint['endpoint_id']}/deliveries"
    police.wait_for(
        log,
        lambda r: any(i["outcome"] == "denied" and i["event_id"] == refused[0] for i in r.json()["items"]),
        timeout=30,
    )
    assert len(refused) == 1 and intake_of(receiver, created["participant_id"]) == []
