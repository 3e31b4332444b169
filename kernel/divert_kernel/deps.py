"""FastAPI dependency aliases shared by every service's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from divert_kernel import idempotency
from divert_kernel.auth import Principal, require
from divert_kernel.clock import Clock
from divert_kernel.gate import ConsentGate
from divert_kernel.messagebus import MessageBus
from divert_kernel.sites import Sites


async def _bus(request: Request) -> MessageBus:
    return cast(MessageBus, request.app.state.bus)


class _ReadsItsOwnWrites:
    """The service's engine, except while a keyed command's transaction is still open.

    A POST with `Idempotency-Key` commits together with its answer (divert_kernel.idempotency), after the route
    has built that answer; a route reading after its command must read inside that transaction, or it answers
    with the state from before its own effect.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def connect(self) -> Any:
        pending = _pending_connection()
        return _borrowed(pending) if pending is not None else self._engine.connect()

    def begin(self) -> Any:
        pending = _pending_connection()
        return _borrowed(pending) if pending is not None else self._engine.begin()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def _pending_connection() -> AsyncConnection | None:
    keyed = idempotency.current()
    return keyed.pending.conn if keyed is not None and keyed.pending is not None else None


@asynccontextmanager
async def _borrowed(conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    yield conn  # committed (or rolled back) with the answer, never here


async def _engine(request: Request) -> AsyncEngine:
    return cast(AsyncEngine, _ReadsItsOwnWrites(request.app.state.engine))


async def _gate(request: Request) -> ConsentGate:
    return cast(ConsentGate, request.app.state.gate)


async def _clock(request: Request) -> Clock:
    return cast(Clock, request.app.state.clock)


async def _sites(request: Request) -> Sites:
    return cast(Sites, request.app.state.sites)


Bus = Annotated[MessageBus, Depends(_bus)]
Engine = Annotated[AsyncEngine, Depends(_engine)]
Gate = Annotated[ConsentGate, Depends(_gate)]
CurrentClock = Annotated[Clock, Depends(_clock)]
SiteDirectory = Annotated[Sites, Depends(_sites)]


# Who may call what, declared once: each alias admits the agency types named (reads of another agency's
# records still go through divert_kernel.access, whatever the alias).
def _role(*agency_types: str) -> object:
    return Depends(require(*agency_types))


AnyAgency = Annotated[Principal, _role()]
Police = Annotated[Principal, _role("police")]
CaseManager = Annotated[Principal, _role("case_management")]
Prosecutor = Annotated[Principal, _role("prosecutor")]
ProjectManager = Annotated[Principal, _role("project_manager")]
Auditor = Annotated[Principal, _role("auditor")]
Referrer = Annotated[Principal, _role("police", "community")]
HandoffRecorder = Annotated[Principal, _role("police", "case_management")]
OwgMember = Annotated[Principal, _role("project_manager", "police", "prosecutor", "case_management")]
CaseloadReader = Annotated[Principal, _role("case_management", "project_manager")]
ConsentReader = Annotated[Principal, _role("case_management", "auditor")]
CourtDateReader = Annotated[Principal, _role("prosecutor", "case_management", "defender")]
Evaluator = Annotated[Principal, _role("evaluator")]
# Aggregates only (DESIGN §7b): evaluators and the project manager see the continuum; police their own units.
EvaluationReader = Annotated[Principal, _role("evaluator", "project_manager", "police")]
