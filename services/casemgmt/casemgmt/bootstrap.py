"""Wire the case-management service."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from casemgmt.config import CaseMgmtSettings
from casemgmt.domain.errors import RuleConflict
from casemgmt.domain.site import SiteSettings
from casemgmt.entrypoints import care, http, lists, participants
from casemgmt.service_layer.handlers import CommandHandlers
from casemgmt.service_layer.projections import projections
from casemgmt.service_layer.reactions import Reactions
from casemgmt.service_layer.site import SettingsSource
from divert_kernel.app import ServiceSpec, create_app
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.problems import problem
from divert_kernel.projection import register
from divert_kernel.sites import load_sites


def create(settings: CaseMgmtSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or CaseMgmtSettings()
    clock = clock or SystemClock()
    defaults = SiteSettings(
        caseload_cap=settings.caseload_cap,
        caseload_preferred=settings.caseload_preferred,
        program_capacity=settings.program_capacity,
    )
    source = SettingsSource(defaults, load_sites(settings.sites_file))
    handlers = CommandHandlers(clock, source)
    register(projections)
    spec = ServiceSpec(
        name="casemgmt",
        title="Divert case-management service",
        # The list routes come before /v1/participants/{participant_id}: `export` is not a participant id.
        routers=[http.router, lists.router, participants.router, care.router],
        commands=handlers.commands(),  # type: ignore[arg-type]
        subscriptions=Reactions(handlers).subscriptions(),  # type: ignore[arg-type]
    )
    app = create_app(spec, settings, clock)
    app.state.site_settings = source
    app.add_exception_handler(RuleConflict, _rule_conflict)  # type: ignore[arg-type]
    return app


async def _rule_conflict(_: Request, exc: RuleConflict) -> JSONResponse:
    """409 naming the rule; with Retry-After when the same request may succeed once events have arrived."""
    reply = problem(409, exc.title, exc.detail, field=exc.field, rule=exc.rule)
    if exc.retry_after is not None:
        reply.headers["Retry-After"] = str(exc.retry_after)
    return reply
