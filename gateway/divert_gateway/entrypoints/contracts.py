"""The event contracts, public and without a token: each JSON Schema at its `dataschema` URL, and /asyncapi.json."""

from __future__ import annotations

import functools
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from divert_contracts import published
from divert_contracts.asyncapi import asyncapi
from divert_kernel.envelope import SCHEMA_PATH
from divert_kernel.errors import NotFound

router = APIRouter(include_in_schema=False)

_VERSION_FILE = re.compile(r"^v([1-9][0-9]{0,5})\.json$")


@router.get(SCHEMA_PATH + "/{service}/{name}/{file}")
async def event_schema(service: str, name: str, file: str, request: Request) -> JSONResponse:
    """The JSON Schema of one event type's `data`, e.g. /v1/schemas/events/referral/DiversionOffered/v1.json."""
    version = _VERSION_FILE.match(file)
    cls = published.find(service, name, int(version.group(1))) if version else None
    if cls is None:
        raise NotFound("no such event type", field="path")
    schema = published.data_schema(cls, request.app.state.settings.public_base)
    return JSONResponse(schema, media_type="application/schema+json", headers=_CACHE)


@router.get("/asyncapi.json")
async def asyncapi_document(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return _asyncapi(settings.public_base, settings.public_nats_url)


_asyncapi = functools.cache(asyncapi)


# Contracts change only with a release; partners' validators may keep them for an hour.
_CACHE = {"Cache-Control": "public, max-age=3600"}
