"""FastAPI dependency aliases shared by every service's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_kernel.auth import Principal, require
from divert_kernel.clock import Clock
from divert_kernel.gate import ConsentGate
from divert_kernel.messagebus import MessageBus
from divert_kernel.sites import Sites


def _bus(request: Request) -> MessageBus:
    return request.app.state.bus


def _engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


def _gate(request: Request) -> ConsentGate:
    return request.app.state.gate


def _clock(request: Request) -> Clock:
    return request.app.state.clock


def _sites(request: Request) -> Sites:
    return request.app.state.sites


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
