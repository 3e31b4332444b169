"""The API reference, offline: /openapi.json for the whole API, Swagger UI at /docs and Redoc at /redoc.

Both pages load only files shipped in this package (vendor/ with their licences, static/ of ours), served at
/docs/assets/: the machine running Divert may have no internet. Their Content-Security-Policy keeps every request
on the gateway, so nothing of a visitor's reaches a third party either.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from divert_gateway.entrypoints.openapi_document import merge
from divert_kernel.errors import NotFound

router = APIRouter(include_in_schema=False)

_PACKAGE = Path(__file__).resolve().parent.parent
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_PACKAGE / "vendor/swagger-ui/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_PACKAGE / "vendor/swagger-ui/swagger-ui.css", "text/css"),
    "favicon-32x32.png": (_PACKAGE / "vendor/swagger-ui/favicon-32x32.png", "image/png"),
    "redoc.standalone.js": (_PACKAGE / "vendor/redoc/redoc.standalone.js", "text/javascript"),
    "swagger-init.js": (_PACKAGE / "static/swagger-init.js", "text/javascript"),
    "docs.css": (_PACKAGE / "static/docs.css", "text/css"),
}
# Swagger UI and Redoc style elements inline and Redoc runs its search in a blob: worker; every fetch stays here.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
LINKS = (
    '<p class="divert-links">Events (webhooks and NATS feeds): <a href="/asyncapi.json">AsyncAPI 3.0 document</a>'
    ' · HTTP API: <a href="/openapi.json">OpenAPI document</a> · <a href="/docs">Swagger UI</a>'
    ' · <a href="/redoc">Redoc</a></p>'
)
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/docs.css">
{head}
</head>
<body>
{links}
{body}
</body>
</html>
"""
SWAGGER_PAGE = _PAGE.format(
    title="Divert API",
    head='<link rel="stylesheet" href="/docs/assets/swagger-ui.css">',
    links=LINKS,
    body='<div id="swagger-ui"></div>\n<script src="/docs/assets/swagger-ui-bundle.js"></script>\n'
    '<script src="/docs/assets/swagger-init.js"></script>',
)
REDOC_PAGE = _PAGE.format(
    title="Divert API reference",
    head="",
    links=LINKS,
    body='<redoc spec-url="/openapi.json"></redoc>\n<script src="/docs/assets/redoc.standalone.js"></script>',
)


async def _service_schema(client: httpx.AsyncClient) -> dict[str, Any] | None:
    try:
        reply = await client.get("/openapi.json", timeout=3)
        reply.raise_for_status()
        return reply.json()  # type: ignore[no-any-return]
    except (httpx.HTTPError, ValueError):
        return None


@router.get("/openapi.json")
async def openapi(request: Request) -> dict[str, Any]:
    state = request.app.state
    if getattr(state, "merged_openapi", None) is not None:
        return state.merged_openapi  # type: ignore[no-any-return]
    found = await asyncio.gather(*(_service_schema(c) for c in state.upstreams.values()))
    document = merge(request.app.openapi(), [s for s in found if s is not None])
    if all(s is not None for s in found):
        state.merged_openapi = document  # complete: keep it; partial documents are rebuilt next time
    return document


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})


@router.get("/docs")
async def docs() -> HTMLResponse:
    return _page(SWAGGER_PAGE)


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return _page(REDOC_PAGE)


@router.get("/docs/assets/{name}")
async def asset(name: str) -> FileResponse:
    """Only the files listed: a name is never a path."""
    if name not in ASSETS:
        raise NotFound("no such documentation asset", field="path")
    path, media_type = ASSETS[name]
    # Assets change only with a release; a day of caching spares the 2 MB on every visit.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
