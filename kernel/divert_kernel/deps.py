"""FastAPI dependency aliases shared by every service's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_kernel.clock import Clock
from divert_kernel.gate import ConsentGate
from divert_kernel.messagebus import MessageBus


def _bus(request: Request) -> MessageBus:
    return request.app.state.bus


def _engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


def _gate(request: Request) -> ConsentGate:
    return request.app.state.gate


def _clock(request: Request) -> Clock:
    return request.app.state.clock


Bus = Annotated[MessageBus, Depends(_bus)]
Engine = Annotated[AsyncEngine, Depends(_engine)]
Gate = Annotated[ConsentGate, Depends(_gate)]
CurrentClock = Annotated[Clock, Depends(_clock)]
