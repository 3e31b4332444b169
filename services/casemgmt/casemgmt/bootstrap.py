"""Wire the case-management service."""

from __future__ import annotations

from fastapi import FastAPI

from casemgmt.config import CaseMgmtSettings
from casemgmt.entrypoints import care, http, lists
from casemgmt.service_layer.handlers import Handlers
from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock


def create(settings: CaseMgmtSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or CaseMgmtSettings()
    clock = clock or SystemClock()
    handlers = Handlers(clock, settings.caseload_cap, settings.program_capacity)
    spec = ServiceSpec(
        name="casemgmt",
        title="Divert case-management service",
        routers=[http.router, lists.router, care.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
    )
    return create_app(spec, settings, clock)
