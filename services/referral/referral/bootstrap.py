"""Wire the referral service: settings, handlers, routes, and the events it consumes."""

from __future__ import annotations

from fastapi import FastAPI

from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.projection import register
from divert_kernel.sites import load_sites
from referral.config import ReferralSettings
from referral.entrypoints import http, owg, person_matches, policy, views
from referral.service_layer.handlers import Handlers
from referral.service_layer.projections import projections


def create(settings: ReferralSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ReferralSettings()
    clock = clock or SystemClock()
    handlers = Handlers(clock, settings.default_intake_window_days, load_sites(settings.sites_file))
    register(projections)
    spec = ServiceSpec(
        name="referral",
        title="Divert referral service (police)",
        routers=[http.router, policy.router, person_matches.router, owg.router, views.router],
        commands=handlers.table(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
    )
    return create_app(spec, settings, clock)
