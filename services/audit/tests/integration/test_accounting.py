"""The accounting of disclosures for the provider holding the participant only; the auditor's break-glass list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest

from divert_contracts.referral import WarmHandoffCompleted
from divert_devstack.testing import JURISDICTION, eventually

from .conftest import NOW, decision

SANTA_FE = "santa-fe"
KC_CM, OTHER_CM = "kc-case-management", "other-cm"


def handoff(participant_id: str, agency: str, minutes: int = 0) -> WarmHandoffCompleted:
    return WarmHandoffCompleted(
        referral_id=str(uuid4()),
        participant_id=participant_id,
        case_manager_id="cm-1",
        completed_at=NOW + timedelta(minutes=minutes),
        case_management_agency=agency,
    )


def path(participant_id: str) -> str:
    return f"/v1/participants/{participant_id}/disclosures"


@pytest.fixture
async def held(service: httpx.AsyncClient, publish, tokens_for: Callable) -> str:  # type: ignore[no-untyped-def]
    """A participant handed off to KC_CM in Seattle, with two decisions in its accounting."""
    participant_id = str(uuid4())
    await publish("referral", handoff(participant_id, KC_CM))
    await publish("consent", decision(participant_id, "permit"))
    await publish("consent", decision(participant_id, "deny", minutes=1))
    auditor = tokens_for("auditor")

    async def both() -> bool:
        reply = await service.get(path(participant_id), headers=auditor, params={"include_denied": "true"})
        return reply.status_code == 200 and len(reply.json()["items"]) == 2

    await eventually(both)

    async def handed_off() -> bool:
        reply = await service.get(path(participant_id), headers=tokens_for("case_management", agency=KC_CM))
        return reply.status_code == 200

    await eventually(handed_off)
    return participant_id


class TestOnlyTheHolderReadsTheAccounting:
    async def test_the_provider_named_in_the_hand_off_reads_it(self, service, tokens_for, held) -> None:  # type: ignore[no-untyped-def]
        reply = await service.get(path(held), headers=tokens_for("case_management", agency=KC_CM))
        assert reply.status_code == 200
        assert [i["decision"] for i in reply.json()["items"]] == ["permit"]

    @pytest.mark.parametrize(
        ("agency", "jurisdiction"),
        [(OTHER_CM, JURISDICTION), (KC_CM, SANTA_FE)],
        ids=["second-provider", "same-agency-id-other-jurisdiction"],
    )
    async def test_another_agency_gets_what_an_unknown_participant_gets(
        self, service, tokens_for, held, agency: str, jurisdiction: str
    ) -> None:  # type: ignore[no-untyped-def]
        other = tokens_for("case_management", agency=agency, jurisdictions=[jurisdiction])
        withheld = await service.get(path(held), headers=other)
        unknown = await service.get(path(str(uuid4())), headers=other)
        assert withheld.status_code == unknown.status_code == 403
        assert withheld.json() == unknown.json()
        assert held not in withheld.text

    async def test_a_later_hand_off_moves_the_accounting_to_the_new_provider(
        self, service, publish, tokens_for, held
    ) -> None:  # type: ignore[no-untyped-def]
        await publish("referral", handoff(held, OTHER_CM, minutes=30))
        other = tokens_for("case_management", agency=OTHER_CM)

        async def moved() -> bool:
            return (await service.get(path(held), headers=other)).status_code == 200

        await eventually(moved)
        first = tokens_for("case_management", agency=KC_CM)
        assert (await service.get(path(held), headers=first)).status_code == 403

    async def test_refused_attempts_are_for_auditors_and_other_agency_types_are_refused(
        self, service, tokens_for, held
    ) -> None:  # type: ignore[no-untyped-def]
        holder = tokens_for("case_management", agency=KC_CM)
        denied = await service.get(path(held), headers=holder, params={"include_denied": "true"})
        assert (denied.status_code, denied.json().get("field")) == (403, "include_denied")
        assert (await service.get(path(held), headers=tokens_for("prosecutor"))).status_code == 403
        auditor = await service.get(path(held), headers=tokens_for("auditor"), params={"include_denied": "true"})
        assert [i["decision"] for i in auditor.json()["items"]] == ["deny", "permit"]


class TestPagination:
    async def test_newest_first_by_cursor(self, service, publish, tokens_for) -> None:  # type: ignore[no-untyped-def]
        participant_id = str(uuid4())
        await publish("referral", handoff(participant_id, KC_CM))
        for minutes in range(3):
            await publish("consent", decision(participant_id, "permit", minutes=minutes))
        await publish("consent", decision(participant_id, "permit", flags=["what_if"], minutes=7))
        holder = tokens_for("case_management", agency=KC_CM)

        async def three() -> bool:
            reply = await service.get(path(participant_id), headers=holder)
            return reply.status_code == 200 and len(reply.json()["items"]) == 3

        await eventually(three)
        first = (await service.get(path(participant_id), headers=holder, params={"limit": 2})).json()
        assert first["items"][0]["decided_at"] > first["items"][1]["decided_at"]
        rest = (await service.get(path(participant_id), headers=holder, params={"cursor": first["next_cursor"]})).json()
        assert len(rest["items"]) == 1 and rest["next_cursor"] is None
        bad = await service.get(path(participant_id), headers=holder, params={"cursor": "not-a-cursor"})
        assert (bad.status_code, bad.json().get("field")) == (422, "cursor")


class TestBreakGlassUses:
    async def test_the_auditor_lists_every_use_and_each_stays_flagged_in_the_accounting(
        self, service, publish, tokens_for
    ) -> None:  # type: ignore[no-untyped-def]
        participant_id = str(uuid4())
        responder = (KC_CM, "case_management")
        await publish("referral", handoff(participant_id, KC_CM))
        await publish("consent", decision(participant_id, "permit", minutes=1))
        await publish(
            "consent", decision(participant_id, "permit", ["break_glass"], 2, purpose="BTG", requester=responder)
        )
        await publish(
            "consent", decision(participant_id, "deny", minutes=3, purpose="BTG", requester=("kc-police", "police"))
        )
        await publish("consent", decision(str(uuid4()), "permit", ["break_glass"], 4, "BTG"), jurisdiction=SANTA_FE)
        auditor = tokens_for("auditor")

        async def listed() -> list | None:
            reply = await service.get("/v1/audit/break-glass", headers=auditor, params={"jurisdiction": JURISDICTION})
            items = [i for i in reply.json()["items"] if i["participant_id"] == participant_id]
            return items if len(items) == 2 else None

        uses = await eventually(listed)
        assert [(u["recipient_agency"], u["decision"]) for u in uses] == [("kc-police", "deny"), (KC_CM, "permit")]
        assert uses[1]["flags"] == ["break_glass"] and {u["jurisdiction"] for u in uses} == {JURISDICTION}

        accounting = await service.get(path(participant_id), headers=tokens_for("case_management", agency=KC_CM))
        assert [i["flags"] for i in accounting.json()["items"]] == [["break_glass"], []]

    async def test_only_auditors_and_only_in_their_jurisdictions(self, service, tokens_for) -> None:  # type: ignore[no-untyped-def]
        elsewhere = await service.get(
            "/v1/audit/break-glass", headers=tokens_for("auditor"), params={"jurisdiction": SANTA_FE}
        )
        assert (elsewhere.status_code, elsewhere.json().get("field")) == (403, "jurisdiction")
        case_manager = tokens_for("case_management", agency=KC_CM)
        refused = await service.get(
            "/v1/audit/break-glass", headers=case_manager, params={"jurisdiction": JURISDICTION}
        )
        assert refused.status_code == 403
        missing = await service.get("/v1/audit/break-glass", headers=tokens_for("auditor"))
        assert missing.status_code == 422
