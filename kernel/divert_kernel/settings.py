"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from datetime import timedelta

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from divert_kernel.clock import Clock, OffsetClock, SystemClock


class ServiceSettings(BaseSettings):
    """Typed settings; development defaults are refused outside development."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: str = "development"
    database_url: str = "postgresql+asyncpg://divert:divert@127.0.0.1:55432/divert"
    # Connections each replica keeps open (and up to half as many more in a burst). Too few, and a busy replica
    # opens and closes overflow connections all the time: a TLS probe and a cold statement cache each.
    database_pool_size: int = 20
    nats_url: str = "nats://127.0.0.1:44222"
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    token_issuer: str = "http://127.0.0.1:8000"
    token_audience: str = "divert-api"
    consent_url: str = "http://127.0.0.1:8103"
    max_body_bytes: int = 256 * 1024
    # The site directory (divert_kernel.sites): agencies and MOU per jurisdiction.
    sites_file: str | None = None
    # The gateway's public address, under which each published event's `dataschema` URL points (DESIGN §4).
    # Unset: the token issuer, which is the gateway.
    public_base_url: str | None = None
    # Development only: the service's clock runs this many days ahead of the system's (see `clock()`).
    clock_offset_days: float = 0.0

    def clock(self) -> Clock:
        """The clock the service's time-dependent rules read: the system's, or moved by `clock_offset_days`."""
        return OffsetClock(timedelta(days=self.clock_offset_days)) if self.clock_offset_days else SystemClock()

    @property
    def public_base(self) -> str:
        return (self.public_base_url or self.token_issuer).rstrip("/")

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> ServiceSettings:
        if self.environment != "development" and "divert:divert@" in self.database_url:
            raise ValueError("the development database password may not be used outside development")
        if self.environment != "development" and self.clock_offset_days:
            raise ValueError("a clock offset is for development only")
        return self
