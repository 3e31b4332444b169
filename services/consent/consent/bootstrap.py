"""Wire the consent service."""

from __future__ import annotations

from fastapi import FastAPI

from consent.config import ConsentSettings
from consent.entrypoints import consents, decisions, documents
from consent.service_layer.handlers import Handlers
from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock


def create(settings: ConsentSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ConsentSettings()
    clock = clock or SystemClock()
    handlers = Handlers(clock)
    spec = ServiceSpec(
        name="consent",
        title="Divert consent service",
        routers=[consents.router, documents.router, decisions.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
    )
    return create_app(spec, settings, clock)
