"""Wire the audit service."""

from __future__ import annotations

from fastapi import FastAPI

from audit.adapters import signing
from audit.config import AuditSettings
from audit.domain.commands import SealAuditCheckpoint
from audit.entrypoints import disclosures, http
from audit.service_layer.handlers import Handlers
from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.schedule import Every


def create(settings: AuditSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    clock = clock or SystemClock()
    handlers = Handlers(clock, signing.load(settings.signing_key_file))
    spec = ServiceSpec(
        name="audit",
        title="Divert audit service",
        routers=[http.router, disclosures.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=handlers.subscriptions(),  # type: ignore[arg-type]
        schedules=[Every(settings.checkpoint_seconds, SealAuditCheckpoint)],
    )
    app = create_app(spec, settings, clock)
    app.state.handlers = handlers
    return app
