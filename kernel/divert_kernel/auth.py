"""Bearer-token verification against the gateway's JWKS, done by every service itself."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from divert_kernel import context
from divert_kernel.errors import Forbidden, InvalidInput, Unauthenticated, Unavailable
from divert_kernel.revocations import HttpClient, Revocations

ALGORITHMS = ["RS256"]
JWKS_PATH = "/.well-known/jwks.json"
REVOCATIONS_PATH = "/oauth/revocations"
log = logging.getLogger("divert.auth")
_PERSON_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """The verified caller: one agency of one type, acting in some jurisdictions."""

    client_id: str
    agency: str
    agency_type: str
    jurisdictions: frozenset[str]
    scopes: frozenset[str]
    token: str
    person: str | None = None

    def check_jurisdiction(self, jurisdiction: str) -> None:
        if jurisdiction not in self.jurisdictions:
            raise Forbidden("the token is not valid for this jurisdiction", field="jurisdiction")

    @property
    def actor(self) -> context.Actor:
        return context.Actor(self.client_id, self.agency, self.agency_type, self.person)


class TokenVerifier:
    """Verifies RS256 access tokens against the gateway's JWKS.

    The keys are fetched lazily and re-fetched only when a token names a key id we do not hold, and then at most
    once per `min_refresh_interval`: a flood of forged tokens costs the gateway nothing (issue 9, finding 11).
    One HTTP client serves every fetch: a new one per fetch built a TLS context each second (benchmarks/PROFILE.md).
    """

    def __init__(
        self,
        jwks_source: str,
        issuer: str,
        audience: str,
        *,
        refresh_after: float = 300,
        min_refresh_interval: float = 10,
        monotonic: Callable[[], float] = time.monotonic,
        revocations_source: str | None = None,
        revocations_interval: float = 1.0,
        revocations_stale_after: float = 3.0,
    ) -> None:
        self._source = jwks_source
        self._issuer = issuer
        self._audience = audience
        self._refresh_after = refresh_after
        self._min_interval = min_refresh_interval
        self._now = monotonic
        self._keys: KeySet | None = None
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()
        self._http = HttpClient()
        self._revocations = Revocations(
            revocations_source, revocations_interval, monotonic, self._http, stale_after=revocations_stale_after
        )

    async def close(self) -> None:
        await self._http.close()

    async def keep_current(self) -> None:
        """For the app's life: the revocation list (and any announced key) refreshed off the request path."""
        await self._revocations.keep_current(self._follow_announcements)

    async def _load(self) -> KeySet:
        if self._source.startswith(("http://", "https://")):
            response = await self._http.get(self._source, timeout=3)
            response.raise_for_status()
            data = response.json()
        else:
            data = json.loads(Path(self._source).read_text())
        return KeySet.import_key_set(data)

    def _may_fetch(self) -> bool:
        return self._tried_at is None or self._now() - self._tried_at >= self._min_interval

    async def _refresh(self, *, announced: bool = False) -> None:
        async with self._lock:
            if not announced and not self._may_fetch():  # another request refreshed while this one waited
                return
            self._tried_at = self._now()
            try:
                self._keys = await self._load()
                self._fetched_at = self._tried_at
            except Exception as exc:
                # An unreachable gateway is tried again after a second, not after the full interval.
                self._tried_at -= max(0.0, self._min_interval - 1)
                if self._keys is None:
                    raise Unavailable("token signing keys could not be loaded") from exc

    async def _keyset(self, kid: str | None) -> KeySet:
        stale = self._fetched_at is None or self._now() - self._fetched_at > self._refresh_after
        unknown = self._keys is None or not _holds(self._keys, kid)
        # With no keys yet, wait for a fetch under way (the background refresher's) rather than fail at once.
        if (stale or unknown) and (self._may_fetch() or self._keys is None):
            await self._refresh()
        if self._keys is None:
            raise Unavailable("token signing keys could not be loaded")
        return self._keys

    async def _follow_announcements(self, *, now: bool = False) -> None:
        """Fetch the JWKS at once when the gateway announces a key we do not hold (a rotation), unthrottled: the
        announcement comes from the gateway at most once per revocations interval, never from a caller's token."""
        announced = await self._revocations.refresh_if_due(now=now)
        if announced and (self._keys is None or not all(_holds(self._keys, kid) for kid in announced)):
            await self._refresh(announced=True)

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or Unauthenticated."""
        kid = _key_id(token)
        await self._follow_announcements()
        try:
            decoded = jwt.decode(token, await self._keyset(kid), algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            raise Unauthenticated("the access token is invalid") from None
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            leeway=5,
        )
        try:
            registry.validate(decoded.claims)
        except JoseError:
            raise Unauthenticated("the access token is expired or not meant for this API") from None
        if is_revoked(decoded.claims, self._revocations.bounds):
            raise Unauthenticated("the access token has been revoked") from None
        return decoded.claims


def is_revoked(claims: dict[str, Any], bounds: dict[str, int]) -> bool:
    """A token is revoked when its client has a bound and the token was issued at or before it. The gateway's
    published list names clients by handle (the token's `rvk`, an HMAC only the gateway computes, so the list
    does not say who was disabled); the gateway's own list, by client id."""
    handle = claims.get("rvk")
    bound = bounds.get(str(handle)) if handle else None
    if bound is None:
        bound = bounds.get(str(claims.get("client_id") or claims.get("sub") or ""))
    if bound is None:
        return False
    issued = claims.get("iat")
    return not isinstance(issued, int | float) or issued <= bound


def revocations_beside(jwks_source: str) -> str | None:
    """The gateway's revocation list, beside its JWKS (a JWKS from a file, as in unit tests, has none)."""
    if jwks_source.startswith(("http://", "https://")) and jwks_source.endswith(JWKS_PATH):
        return jwks_source[: -len(JWKS_PATH)] + REVOCATIONS_PATH
    return None


def _key_id(token: str) -> str | None:
    """The `kid` of a compact JWS header, read without trusting anything else in the token."""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Unauthenticated("the access token is invalid") from None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _holds(keys: KeySet, kid: str | None) -> bool:
    if kid is None:
        return True  # nothing to look up: refreshing could not help
    try:
        keys.get_by_kid(kid)
    except (JoseError, ValueError, KeyError):
        return False
    return True


def principal_from_claims(claims: dict[str, Any], token: str, person: str | None) -> Principal:
    try:
        return Principal(
            client_id=str(claims["client_id"]),
            agency=str(claims["agency"]),
            agency_type=str(claims["agency_type"]),
            jurisdictions=frozenset(claims["jurisdictions"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token=token,
            person=person,
        )
    except (KeyError, TypeError):
        raise Unauthenticated("the access token lacks Divert claims") from None


async def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, also installed as the acting context for events."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a bearer access token is required")
    claims = await request.app.state.verifier.verify(token.strip())
    person = request.headers.get("divert-acting-person")
    if person is not None and not _PERSON_ID.match(person):
        raise InvalidInput(
            "Divert-Acting-Person must be an opaque staff id (letters, digits, ._:@-)", field="Divert-Acting-Person"
        )
    principal = principal_from_claims(claims, token.strip(), person)
    correlation = request.headers.get("divert-correlation-id")
    causation = context.Causation(actor=principal.actor)
    if correlation and len(correlation) <= 64:
        causation = context.Causation(actor=principal.actor, correlation_id=correlation)
    context.set_current(causation)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require(*agency_types: str, scope: str | None = None) -> Callable[..., Any]:
    """A dependency admitting only the given agency types (and scope, if named)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if agency_types and principal.agency_type not in agency_types:
            raise Forbidden(f"this call is for agency types: {', '.join(agency_types)}")
        if scope and scope not in principal.scopes:
            raise Forbidden(f"the token lacks the '{scope}' scope")
        return principal

    return dependency
