"""A registered partner system: one agency, its type, the jurisdictions and scopes it may use."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):  # type: ignore[misc]
    client_id: str
    secret_sha256: str
    agency_id: str
    agency_type: str
    jurisdictions: tuple[str, ...]
    scopes: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(self.scopes)
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(hash_secret(client_secret), self.secret_sha256)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


@dataclass(frozen=True)
class ClientRecord:
    """A client as an operator lists it: never its secret (only a hash is stored anyway)."""

    client_id: str
    agency_id: str
    agency_type: str
    jurisdictions: tuple[str, ...]
    scopes: tuple[str, ...]
    disabled: bool
    created_at: datetime
