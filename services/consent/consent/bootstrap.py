"""Wire the consent service."""

from __future__ import annotations

from fastapi import FastAPI

from consent.config import ConsentSettings
from consent.domain import commands
from consent.entrypoints import consents, decisions, documents
from consent.service_layer.handlers import Handlers
from consent.service_layer.projections import projections
from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.projection import register
from divert_kernel.sites import load_sites


async def record_site_mous(app: FastAPI) -> None:
    """At startup, record each site's MOU version unless already recorded (decisions also do, on first use)."""
    for site in app.state.sites.sites:
        await app.state.bus.handle(commands.SiteMouInForce(site.jurisdiction))


def create(settings: ConsentSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ConsentSettings()
    clock = clock or SystemClock()
    handlers = Handlers(clock, load_sites(settings.sites_file))
    register(projections)
    spec = ServiceSpec(
        name="consent",
        title="Divert consent service",
        routers=[consents.router, documents.router, decisions.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
        background=[record_site_mous],
    )
    app = create_app(spec, settings, clock)
    app.state.sites = handlers.site.sites  # one directory for the routes and the decisions
    app.state.decider = handlers.decider  # the gate's fast path (entrypoints/decisions.py)
    return app
