"""The consent gate on the running system: lists, counts, pages and exports leak nothing; revocation is immediate."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from uuid import uuid4

from tests.conftest import System
from tests.partner import Partner, consent_body, referral_body

J = "seattle-king-county"


def participants(system: System, n: int, tag: str) -> list[str]:
    """New participants, each handed off to the demo's first provider, which then holds them (and their consents)."""
    police, cm = system.partner("police"), system.partner("case_management")
    created = []
    for i in range(n):
        reply = police.post("/v1/referrals", json=referral_body(f"P-{tag}-{i}-{uuid4().hex[:6]}"))
        assert reply.status_code == 201, reply.text
        created.append((reply.json()["referral_id"], reply.json()["participant_id"]))
    for referral_id, _ in created:
        assert police.post(f"/v1/referrals/{referral_id}/acceptance").status_code == 200
        handed = police.post(f"/v1/referrals/{referral_id}/handoff", json=handoff_body(cm.client["agency_id"]))
        assert handed.status_code == 200, handed.text
    ids = [participant_id for _, participant_id in created]
    for participant_id in ids:  # case management and consent learn of the hand-off from the bus
        cm.wait_for(f"/v1/participants/{participant_id}/intake", lambda r: r.status_code == 200)
        cm.wait_for(f"/v1/consents?participant_id={participant_id}&jurisdiction={J}", lambda r: r.status_code == 200)
    return ids


def handoff_body(provider: str) -> dict[str, str]:
    at = datetime.now(UTC).isoformat()
    return {"case_manager_id": "cm-ana", "location": "Day center", "at": at, "case_management_agency": provider}


def everything_listed(partner: Partner, limit: int, **query: str) -> tuple[set[str], int]:
    seen: list[str] = []
    cursor, total = None, None
    while True:
        params = {"jurisdiction": J, "limit": str(limit), **query, **({"cursor": cursor} if cursor else {})}
        page = partner.get("/v1/participants", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        total = body["total"] if total is None else total
        seen += [item["participant_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a page repeated a row"
    return set(seen), total


def exported(partner: Partner) -> set[str]:
    reply = partner.get("/v1/participants/export", params={"jurisdiction": J})
    assert reply.status_code == 200
    return {json.loads(line)["participant_id"] for line in reply.text.splitlines()}


class TestNothingWithheldShows:
    def test_lists_counts_pages_and_exports_hold_only_permitted_participants(self, system: System) -> None:
        prosecutor, cm = system.partner("prosecutor"), system.partner("case_management")
        before, _ = everything_listed(prosecutor, limit=50)
        p1, p2, p3, p4, p5 = participants(system, 5, "LIST")
        for consented in (p1, p3):
            assert cm.post("/v1/consents", json=consent_body(consented)).status_code == 201

        for limit in (1, 2, 50):
            listed, total = everything_listed(prosecutor, limit=limit)
            assert listed == before | {p1, p3}
            assert total == len(listed)
        assert exported(prosecutor) == before | {p1, p3}
        active, active_total = everything_listed(prosecutor, limit=3, status="active")
        assert {p2, p4, p5}.isdisjoint(active) and active_total == len(active)

        owner_view, owner_total = everything_listed(cm, limit=100)
        assert {p1, p2, p3, p4, p5} <= owner_view and owner_total == len(owner_view)

    def test_a_cursor_we_did_not_issue_is_refused(self, system: System) -> None:
        reply = system.partner("prosecutor").get("/v1/participants", params={"jurisdiction": J, "cursor": "!!"})
        assert reply.status_code == 422 and reply.json()["field"] == "cursor"

    def test_an_unknown_participant_reads_exactly_like_a_withheld_one(self, system: System) -> None:
        [withheld] = participants(system, 1, "UNKNOWN")
        prosecutor = system.partner("prosecutor")
        denied = prosecutor.get(f"/v1/participants/{withheld}/intake")
        unknown = prosecutor.get(f"/v1/participants/{uuid4()}/intake")
        assert denied.status_code == 403
        assert (unknown.status_code, unknown.json()) == (denied.status_code, denied.json())


class TestRevocationUnderLoad:
    def test_no_read_that_starts_after_the_revocation_returned_is_served(self, system: System) -> None:
        [participant_id] = participants(system, 1, "RACE")
        cm = system.partner("case_management")
        consent_id = cm.post("/v1/consents", json=consent_body(participant_id)).json()["consent_id"]
        path = f"/v1/participants/{participant_id}/intake"
        readers = [system.partner("prosecutor") for _ in range(6)]
        for reader in readers:
            assert reader.get(path).status_code == 200
        results: list[tuple[float, int]] = []
        stop = threading.Event()

        def read_repeatedly(reader: Partner) -> None:
            while not stop.is_set():
                started = time.monotonic()
                results.append((started, reader.get(path).status_code))

        threads = [threading.Thread(target=read_repeatedly, args=(r,)) for r in readers]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        assert cm.post(f"/v1/consents/{consent_id}/revocation", json={}).status_code == 200
        revoked_at = time.monotonic()
        time.sleep(0.7)
        stop.set()
        for thread in threads:
            thread.join()

        after = [status for started, status in results if started > revoked_at]
        before = [status for started, status in results if started <= revoked_at]
        assert after and set(after) == {403}, "a read that began after the revocation was served"
        assert 200 in before


class TestAnotherProviderOfTheSite:
    def test_cannot_record_or_read_consents_of_a_participant_it_does_not_hold(self, system: System) -> None:
        [participant_id] = participants(system, 1, "OTHERCM")
        evergreen = system.agency("evergreen-cm")
        opening = consent_body(participant_id, recipient="kc-sheriff")
        opened = evergreen.post("/v1/consents", json=opening)
        unknown = evergreen.post("/v1/consents", json=consent_body(str(uuid4()), recipient="kc-sheriff"))
        assert opened.status_code == 403
        assert (opened.status_code, opened.json()) == (unknown.status_code, unknown.json())
        listed = evergreen.get("/v1/consents", params={"participant_id": participant_id, "jurisdiction": J})
        assert listed.status_code == 403
        sheriff = system.agency("kc-sheriff")
        assert sheriff.get(f"/v1/participants/{participant_id}/intake").status_code == 403
