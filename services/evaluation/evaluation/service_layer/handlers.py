"""The consumed events (each one that moves someone along the continuum becomes facts through the projections) and
the two commands: record a data-use agreement, release a limited data set under one."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from uuid import uuid4

from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.errors import Conflict
from divert_kernel.sites import Sites
from divert_kernel.uow import UnitOfWork
from evaluation.adapters import store
from evaluation.domain.extract import (
    DataUseAgreement,
    NoAgreement,
    RecordAgreement,
    ReleaseExtract,
    agreement_key,
    study_rows,
)
from evaluation.domain.facts import assemble
from evaluation.domain.intake import FACTS

log = logging.getLogger("divert.evaluation")


class Handlers:
    def __init__(self, clock: Clock, sites: Sites) -> None:
        self.clock = clock
        self.sites = sites

    def commands(self) -> dict[type, object]:
        return {RecordAgreement: self.record_agreement, ReleaseExtract: self.release_extract}

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {service: {event_type: self.record for event_type in types} for service, types in FACTS.items()}

    async def record(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Nothing to decide: the consumer keeps the event and the projections turn it into facts
        (service_layer/projections.py). Subscribed so the consumer takes it in at all."""
        if received.event is None:
            log.warning("evaluation skipped %s v%s: no contract known", received.type, received.version)

    async def record_agreement(self, cmd: RecordAgreement, uow: UnitOfWork) -> str:
        if await uow.get(DataUseAgreement, agreement_key(cmd.jurisdiction, cmd.agreement_id)) is not None:
            raise Conflict("this agreement id is already recorded", field="agreement_id")
        now = self.clock.now()
        uow.add(DataUseAgreement.record(cmd, now.date(), now))
        return cmd.agreement_id

    async def release_extract(self, cmd: ReleaseExtract, uow: UnitOfWork) -> dict[str, Any]:
        agreement = await uow.get(DataUseAgreement, agreement_key(cmd.jurisdiction, cmd.data_use_agreement_id))
        if agreement is None or agreement.jurisdiction != cmd.jurisdiction:
            raise NoAgreement()
        now = self.clock.now()
        agreement.check_covers(cmd.recipient_agency, now.date())  # type: ignore[attr-defined]
        site = self.sites.get(cmd.jurisdiction)
        _, paths = assemble(await store.facts(uow.conn, cmd.jurisdiction), site.time_zone if site else "UTC")
        # Made for this extract and dropped with this frame: never stored, logged or returned, so no one (us
        # included) can recompute a study id from a participant id, or link two extracts.
        rows = study_rows(paths, cmd.year, secrets.token_bytes(32), now)
        extract_id = str(uuid4())
        agreement.release(extract_id, cmd, len(rows), now.date(), now)  # type: ignore[attr-defined]
        return {"extract_id": extract_id, "rows": rows}
