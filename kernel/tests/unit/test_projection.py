"""Projectors are dispatched by the event's contract (own or foreign), and stored version-1 data is upcast."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from divert_contracts import superseded
from divert_contracts.prosecution import LegacyCaseRegistered
from divert_contracts.referral import DiversionDeclined
from divert_kernel.context import Actor
from divert_kernel.events import load_event
from divert_kernel.projection import Fact, Projections

T = datetime(2026, 11, 1, tzinfo=UTC)
V1 = {
    "case_id": "c1",
    "participant_id": "p1",
    "kind": "legacy",
    "docket_number": "D-1",
    "court": "District",
    "charge_codes": ["23H"],
    "filed_at": "2026-10-01",
    "registered_at": T.isoformat(),
}


def fact(event: Any, source: str) -> Fact:
    return Fact(event, "e1", Actor(), source, "seattle-king-county", "x", T, 1, 1)


class TestUpcasting:
    def test_version_1_data_loads_as_version_2_with_the_codes_renamed(self) -> None:
        event = load_event("prosecution", "LegacyCaseRegistered", 1, dict(V1))
        assert isinstance(event, LegacyCaseRegistered) and event.schema_version == 2
        assert event.offense_codes == ["23H"]

    def test_version_2_data_loads_as_it_is(self) -> None:
        data = {k: v for k, v in V1.items() if k != "charge_codes"} | {"offense_codes": ["90J"]}
        event = load_event("prosecution", "LegacyCaseRegistered", 2, data)
        assert isinstance(event, LegacyCaseRegistered) and event.offense_codes == ["90J"]

    def test_the_superseded_contract_keeps_version_1s_schema(self) -> None:
        assert superseded.LegacyCaseRegistered.schema_version == 1
        assert "charge_codes" in superseded.LegacyCaseRegistered.model_json_schema()["properties"]


class TestDispatch:
    async def test_each_projector_runs_for_its_event_types_only(self) -> None:
        seen: list[str] = []
        projections = Projections(service="prosecution", tables=("t",))

        @projections.on(LegacyCaseRegistered)
        async def own(conn: Any, f: Fact) -> None:
            seen.append("own")

        @projections.on(DiversionDeclined)
        async def foreign(conn: Any, f: Fact) -> None:
            seen.append("foreign")

        case = load_event("prosecution", "LegacyCaseRegistered", 1, dict(V1))
        declined = DiversionDeclined(referral_id="r", participant_id="p", declined_at=T)
        await projections.apply(None, fact(case, "prosecution"))  # type: ignore[arg-type]
        await projections.apply(None, fact(declined, "referral"))  # type: ignore[arg-type]
        # A foreign type under another source (a test double publishing as someone else) is not projected.
        await projections.apply(None, fact(declined, "casemgmt"))  # type: ignore[arg-type]
        assert seen == ["own", "foreign"]
        assert projections.handles("referral", "DiversionDeclined")
        assert not projections.handles("referral", "DiversionOffered")


class TestBatches:
    async def test_a_batch_projector_takes_each_run_of_consecutive_facts_once_and_order_is_kept(self) -> None:
        seen: list[Any] = []
        projections = Projections(service="prosecution", tables=("t",))

        @projections.on_each_run(DiversionDeclined)
        async def batch(conn: Any, facts: Any) -> None:
            seen.append([f.event.referral_id for f in facts])

        @projections.on(DiversionDeclined)
        async def each(conn: Any, f: Fact) -> None:
            seen.append(f.event.referral_id)

        @projections.on(LegacyCaseRegistered)
        async def case(conn: Any, f: Fact) -> None:
            seen.append("case")

        def declined(r: str) -> Fact:
            return fact(DiversionDeclined(referral_id=r, participant_id="p", declined_at=T), "referral")

        registered = fact(load_event("prosecution", "LegacyCaseRegistered", 1, dict(V1)), "prosecution")
        await projections.apply_all(None, [declined("a"), declined("b"), registered, declined("c")])  # type: ignore[arg-type]
        assert seen == [["a", "b"], "a", "b", "case", ["c"], "c"]
