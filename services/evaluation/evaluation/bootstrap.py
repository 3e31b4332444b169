"""Wire the evaluation service."""

from __future__ import annotations

from fastapi import FastAPI

from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock
from evaluation.config import EvaluationSettings
from evaluation.entrypoints import http, report
from evaluation.service_layer.handlers import Handlers


def create(settings: EvaluationSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or EvaluationSettings()
    handlers = Handlers()
    spec = ServiceSpec(
        name="evaluation",
        title="Divert evaluation service",
        routers=[http.router, report.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
    )
    return create_app(spec, settings, clock or SystemClock())
