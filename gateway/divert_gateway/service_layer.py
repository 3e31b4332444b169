"""The OAuth2 authorization server (client-credentials grant, RFC 9068 JWT access tokens) on authlib."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from fastapi.responses import JSONResponse
from joserfc.jwk import KeySet, RSAKey

from divert_gateway.domain.clients import AUTH_METHODS, RegisteredClient
from divert_gateway.domain.keys import revocation_handle

# Authlib is synchronous; the client row is fetched asynchronously before it runs and handed over here.
_prefetched: ContextVar[RegisteredClient | None] = ContextVar("prefetched_client", default=None)


class _FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, form: dict[str, str]) -> None:
        self._form = form

    @property
    def data(self) -> dict[str, str]:
        return self._form

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._form.items():
            values[key].append(value)
        return values


class TokenRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = _FormPayload(form)
        self._form = form

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class _ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class _AccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, issuer: str, audience: str, key: Callable[[], RSAKey], ttl: int) -> None:
        super().__init__(issuer=issuer, alg="RS256", expires_generator=lambda client, grant_type: ttl)
        self._audience = audience
        self._key = key

    def get_jwks(self) -> dict[str, Any]:
        # The key that signs now (the key ring's newest active key): one key, so its kid goes into the header.
        return KeySet([self._key()]).as_dict(private=True)  # type: ignore[no-any-return]

    def get_audiences(self, client: RegisteredClient, user: Any, scope: str) -> str:
        return self._audience

    def get_extra_claims(self, client: RegisteredClient, grant_type: str, user: Any, scope: str) -> dict[str, Any]:
        return {
            "agency": client.agency_id,
            "agency_type": client.agency_type,
            "jurisdictions": list(client.jurisdictions),
            # What /oauth/revocations names this client by: see domain.keys.revocation_handle.
            "rvk": revocation_handle(self._key().as_dict(private=True), client.client_id),
        }


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, *, issuer: str, audience: str, key: Callable[[], RSAKey], ttl: int) -> None:
        super().__init__()
        self.register_grant(_ClientCredentials)
        self.register_token_generator("default", _AccessTokens(issuer, audience, key, ttl))

    def issue(self, client: RegisteredClient | None, request: TokenRequest) -> JSONResponse:
        token = _prefetched.set(client)
        try:
            return self.create_token_response(request)  # type: ignore[no-any-return]
        finally:
            _prefetched.reset(token)

    def query_client(self, client_id: str) -> RegisteredClient | None:
        client = _prefetched.get()
        return client if client is not None and client.client_id == client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        # Self-contained JWTs: nothing to store; revocation is by short lifetime and client disabling.
        return None

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None
