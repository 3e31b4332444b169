"""The gate: decide a batch of reads and record every decision, in two round trips whatever the batch's size.

One statement reads what all the decisions need (gate_store.read: survivors, bases, relations, who is a participant,
the MOU version in force), the pure policy decides each, and one statement records them all (events, outbox rows
and decision log). Nothing that can permit is cached: the only thing kept between requests is a recorded MOU
version's terms, which never change once recorded, and the version in force is read with the bases each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncConnection

from consent.adapters import aliases, gate_store
from consent.domain import commands, policy
from consent.domain.model import AccessDecision
from consent.domain.mou import Mou
from consent.service_layer.site import SiteTerms
from divert_kernel import context, telemetry
from divert_kernel.clock import Clock


@dataclass(frozen=True)
class Decided:
    decision_id: str
    verdict: policy.Verdict

    def as_dict(self) -> dict[str, object]:
        v = self.verdict
        return {
            "decision_id": self.decision_id,
            "decision": v.decision,
            "basis": {"kind": v.basis_kind, "id": v.basis_id} if v.permitted else None,
            "obligations": v.obligations,
            "flags": v.flags,
        }


class Decider:
    def __init__(self, clock: Clock, site: SiteTerms) -> None:
        self.clock = clock
        self.site = site
        self._mous: dict[tuple[str, int], Mou] = {}
        # A recorded MOU version's grants to one agency, given its relations to a participant: they depend on
        # nothing else (never on time, nor on a consent), so they are worked out once. Bounded: agencies x relations.
        self._site_grants: dict[tuple[str, int, str, frozenset[str]], tuple[policy.Basis, ...]] = {}

    def mous_recorded(self, requests: Sequence[commands.DecideAccess]) -> bool:
        """True once each site's directory MOU version is recorded (else the command path records it first)."""
        return all(self.site.mou_recorded(j) for j in {r.jurisdiction for r in requests})

    async def decide(
        self, conn: AsyncConnection, requests: Sequence[commands.DecideAccess], *, lock: bool
    ) -> list[Decided]:
        """Fail closed: permit only on a live consent, site grant or break-glass; every decision recorded.

        `lock` (inside a transaction) orders the reads after any person match under way, as every writer does.
        Without it (one statement, autocommitted) the read is still one snapshot: each decision is made and
        recorded against the ids as they stood in it; a match never moves past decisions."""
        now = self.clock.now()
        if lock:
            for jurisdiction in sorted({r.jurisdiction for r in requests}):
                await aliases.lock_shared(conn, jurisdiction)
        keys = [(r.jurisdiction, r.participant_id, r.requester_agency) for r in requests]
        facts, versions = await gate_store.read(conn, keys)
        mous = {j: await self._mou(conn, j, v) for j, v in versions.items()}
        decided, events = [], []
        for request, key in zip(requests, keys, strict=True):
            found = facts[key]
            request = replace(request, participant_id=found.survivor)  # a merged id is decided as its survivor
            bases = found.bases
            mou = mous[request.jurisdiction]
            # The MOU covers the site's own participants only: an id from elsewhere, or none, gets no site grant.
            if mou is not None and found.known:
                bases = [*bases, *self._grants(mou, request.requester_agency, found.related)]
            access = policy.AccessRequest(
                request.participant_id,
                request.jurisdiction,
                request.requester_agency,
                request.requester_agency_type,
                request.category,
                request.purpose,
            )
            verdict = policy.decide(access, bases, now)
            decision_id = str(uuid4())
            events.append((AccessDecision.decided(decision_id, request, verdict, now), request.jurisdiction))
            decided.append(Decided(decision_id, verdict))
        causation = context.current()
        await gate_store.record(conn, events, causation, telemetry.current_traceparent(), AccessDecision.stream_prefix)
        return decided

    def _grants(self, mou: Mou, agency: str, related: set[str]) -> tuple[policy.Basis, ...]:
        key = (mou.jurisdiction, mou.version, agency, frozenset(related))
        if key not in self._site_grants:
            if len(self._site_grants) > 10_000:
                self._site_grants.clear()
            self._site_grants[key] = tuple(mou.bases(agency, related))
        return self._site_grants[key]

    async def _mou(self, conn: AsyncConnection, jurisdiction: str, version: int | None) -> Mou | None:
        if version is None:
            return None
        if (jurisdiction, version) not in self._mous:
            self._mous[(jurisdiction, version)] = await gate_store.mou(conn, jurisdiction, version)
        return self._mous[(jurisdiction, version)]
