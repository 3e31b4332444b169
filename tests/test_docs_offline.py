"""The API reference works offline and reads like an SDK: /docs and /redoc load only the gateway's own files;
operation ids are unique camelCase method names; every service POST declares Idempotency-Key and
Divert-Acting-Person; every POST body has an example that fits its schema; every 201 declares and sends Location.
"""

from __future__ import annotations

import json
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import httpx
import jsonschema_rs
import pytest

from tests.conftest import System
from tests.partner import referral_body

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
# The gateway's own POSTs (the token endpoint, webhook subscriptions) take neither header: no service's idempotent
# command path serves them, so declaring Idempotency-Key there would promise what they do not do.
GATEWAY_OWN = re.compile(r"^(/oauth/token|/v1/webhook-endpoints|/v1/feeds)")
KEYED_GATEWAY_OWN = re.compile(r"^(/v1/webhook-endpoints|/v1/feeds)")
# Where FastAPI's default pages (and most tutorials) load Swagger UI and Redoc from.
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis.com", "fonts.gstatic.com")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.found


@pytest.fixture(scope="module")
def gateway(system: System) -> httpx.Client:
    return httpx.Client(base_url=system.endpoints["gateway_url"], timeout=20)


@pytest.fixture(scope="module")
def document(gateway: httpx.Client) -> dict[str, Any]:
    return gateway.get("/openapi.json").json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any], section: str = "paths") -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, ops in document.get(section, {}).items()
        for method, op in ops.items()
        if method in ("get", "put", "post", "delete", "patch")
    ]


class TestOfflinePages:
    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    def test_the_page_loads_only_the_gateways_own_files(self, gateway: httpx.Client, page: str) -> None:
        reply = gateway.get(page)
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
        assert not re.search(r"https?://", reply.text), "an absolute URL: the page would reach another host"
        found = references(reply.text)
        assert any(ref.endswith(".js") for ref in found) and "/asyncapi.json" in found
        for ref in found:
            assert ref.startswith("/") and not ref.startswith("//"), ref
            assert gateway.get(ref).status_code == 200, ref

    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    def test_the_pages_policy_keeps_every_request_on_the_gateway(self, gateway: httpx.Client, page: str) -> None:
        # The vendored bundles mention outside URLs (Redoc shows a logo from its CDN); the policy stops any fetch.
        policy = dict(
            directive.strip().split(" ", 1)
            for directive in gateway.get(page).headers["content-security-policy"].split(";")
        )
        for directive in ("default-src", "script-src", "style-src", "img-src", "font-src", "connect-src", "worker-src"):
            sources = policy[directive].split()
            assert set(sources) <= {"'self'", "'unsafe-inline'", "'unsafe-eval'", "data:", "blob:"}, directive

    def test_the_assets_name_no_cdn(self, gateway: httpx.Client) -> None:
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "swagger-init.js", "docs.css"):
            asset = gateway.get(f"/docs/assets/{name}")
            assert asset.status_code == 200 and not any(f"//{host}" in asset.text for host in CDN_HOSTS), name

    @pytest.mark.parametrize("name", ["nothing.js", "..%2F..%2Fconfig.py", "%2e%2e"])
    def test_an_unlisted_asset_is_a_404(self, gateway: httpx.Client, name: str) -> None:
        reply = gateway.get(f"/docs/assets/{name}")
        assert reply.status_code == 404 and reply.headers["content-type"] == "application/problem+json"


class TestTheDocument:
    def test_operation_ids_are_unique_camel_case(self, document: dict[str, Any]) -> None:
        ids = [op["operationId"] for _, _, op in operations(document) + operations(document, "webhooks")]
        assert ids and not [i for i in ids if not CAMEL_CASE.match(i)]
        assert len(ids) == len(set(ids))
        assert {"submitReferral", "recordConsent", "issueToken", "createEndpoint"} <= set(ids)

    def test_every_service_post_declares_idempotency_key_and_acting_person(self, document: dict[str, Any]) -> None:
        posts = [(path, op) for path, method, op in operations(document) if method == "post"]
        missing = [
            path
            for path, op in posts
            if not GATEWAY_OWN.match(path)
            and not {"Idempotency-Key", "Divert-Acting-Person"}
            <= {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        ]
        assert len(posts) > 20 and not missing
        # The gateway's own keyed POSTs honour Idempotency-Key (no acting person: no participant is touched).
        keyed = [(path, op) for path, op in posts if KEYED_GATEWAY_OWN.match(path)]
        undeclared = [
            path for path, op in keyed if "Idempotency-Key" not in {p["name"] for p in op.get("parameters", [])}
        ]
        assert len(keyed) >= 5 and not undeclared

    def test_every_post_body_has_an_example_that_fits_its_schema(self, document: dict[str, Any]) -> None:
        checked, missing = 0, []
        for path, method, op in operations(document):
            if method != "post" or "requestBody" not in op:
                continue
            for media in op["requestBody"]["content"].values():
                schema = _resolve(document, media["schema"])
                examples = [media["example"]] if "example" in media else schema.get("examples", [])
                if not examples:
                    missing.append(path)
                for example in examples:
                    _fits(document, media["schema"], example, path)
                    checked += 1
        assert not missing and checked > 20

    def test_every_201_declares_location(self, document: dict[str, Any]) -> None:
        created = [(path, op) for path, _, op in operations(document) if "201" in op["responses"]]
        assert len(created) >= 9
        assert not [path for path, op in created if "Location" not in op["responses"]["201"].get("headers", {})]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The component a body schema names (directly, or as the non-null branch of an optional body)."""
    ref = schema.get("$ref") or next((s["$ref"] for s in schema.get("anyOf", []) if "$ref" in s), None)
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema  # type: ignore[no-any-return]


def _fits(document: dict[str, Any], schema: dict[str, Any], example: Any, path: str) -> None:
    validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
    errors = [e.message for e in validator.iter_errors(example)]
    assert not errors, f"{path}: {errors[:3]}"


class TestLocationIsSent:
    def test_a_referral_created_through_the_gateway_says_where_it_is(self, system: System) -> None:
        police = system.partner("police")
        created = police.post("/v1/referrals", json=referral_body(f"P-{uuid.uuid4().hex[:8]}"))
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert location == f"/v1/referrals/{created.json()['referral_id']}"
        assert police.get(location).status_code == 200

    def test_a_webhook_endpoint_created_at_the_gateway_says_where_it_is(self, system: System) -> None:
        police = system.partner("police")
        body = {"url": "http://127.0.0.1:9/hooks", "event_types": ["DiversionOffered"], "description": "docs test"}
        created = police.post("/v1/webhook-endpoints", json=body)
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert police.get(location).json()["endpoint_id"] == created.json()["endpoint_id"]
        assert police.http.delete(location, headers={"Authorization": f"Bearer {police.token()}"}).status_code == 204


def test_the_document_is_valid_json_for_a_generator(document: dict[str, Any]) -> None:
    # An SDK generator reads the document as plain JSON: every $ref must name a component that is there.
    text = json.dumps(document)
    names = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert names and names <= set(document["components"]["schemas"])
