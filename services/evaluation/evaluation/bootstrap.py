"""Wire the evaluation service."""

from __future__ import annotations

from fastapi import FastAPI

from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.projection import register
from divert_kernel.sites import load_sites
from evaluation.config import EvaluationSettings
from evaluation.entrypoints import extracts, http, report
from evaluation.service_layer.handlers import Handlers
from evaluation.service_layer.projections import projections


def create(settings: EvaluationSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or EvaluationSettings()
    clock = clock or SystemClock()
    handlers = Handlers(clock, load_sites(settings.sites_file))
    register(projections)
    spec = ServiceSpec(
        name="evaluation",
        title="Divert evaluation service",
        routers=[http.router, report.router, extracts.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
    )
    return create_app(spec, settings, clock)
