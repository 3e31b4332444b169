"""Wire the prosecution service."""

from __future__ import annotations

from fastapi import FastAPI

from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock
from divert_kernel.projection import register
from divert_kernel.schedule import Every
from divert_kernel.sites import load_sites
from prosecution.config import ProsecutionSettings
from prosecution.domain.commands import LapseDueCharges
from prosecution.entrypoints import cases, held_charges
from prosecution.service_layer.handlers import Handlers
from prosecution.service_layer.projections import projections


def create(settings: ProsecutionSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ProsecutionSettings()
    clock = clock or settings.clock()  # the system's, unless a development offset moves it
    sites = load_sites(settings.sites_file)
    handlers = Handlers(clock, sites)
    register(projections)
    spec = ServiceSpec(
        name="prosecution",
        title="Divert prosecution service",
        routers=[held_charges.router, cases.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
        schedules=[Every(settings.lapse_every_seconds, LapseDueCharges)],
    )
    app = create_app(spec, settings, clock)
    cases.install(app)
    # One directory for the routes (who owns a record) and the handlers (which office holds a new charge).
    app.state.sites = sites
    app.state.handlers = handlers
    return app
