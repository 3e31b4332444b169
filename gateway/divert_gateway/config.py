from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """The public edge: token issuing, routing to the owning service."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    environment: str = "development"
    database_url: str = "postgresql+asyncpg://divert:divert@127.0.0.1:55432/gateway"
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "divert-api"
    signing_key_file: Path = Path(".divert/secrets/signing-key.jwk.json")
    token_ttl_seconds: int = 900
    # Development convenience: clients (with plaintext secrets) registered at start-up from this file.
    bootstrap_clients_file: Path | None = None
    referral_url: str = "http://127.0.0.1:8101"
    casemgmt_url: str = "http://127.0.0.1:8102"
    consent_url: str = "http://127.0.0.1:8103"
    prosecution_url: str = "http://127.0.0.1:8104"
    audit_url: str = "http://127.0.0.1:8105"
    evaluation_url: str = "http://127.0.0.1:8106"
    upstream_timeout_seconds: float = 15.0
    max_body_bytes: int = 256 * 1024
    # Where partners reach the gateway (event `dataschema` URLs, the AsyncAPI servers); unset: the issuer.
    public_base_url: str | None = None
    # The NATS address partners connect to for their feeds, as published in /asyncapi.json.
    public_nats_url: str = "nats://127.0.0.1:44222"
    # Partner delivery (DESIGN §7a): the bus the delivery component consumes; None runs the gateway without it.
    nats_url: str | None = None
    # The site directory (agencies per jurisdiction): whose NATS feed an entitled event goes to.
    sites_file: str | None = None
    # Development only (the demo and tests run receivers on 127.0.0.1): webhook targets may be http and private.
    webhook_allow_private_targets: bool = False

    @model_validator(mode="after")
    def _no_development_shortcuts_in_production(self) -> "GatewaySettings":
        if self.environment != "development":
            if "divert:divert@" in self.database_url:
                raise ValueError("the development database password may not be used outside development")
            if self.bootstrap_clients_file is not None:
                raise ValueError("clients are registered through the admin tooling outside development")
            if self.webhook_allow_private_targets:
                raise ValueError("webhook targets on private addresses are allowed only in development")
        return self

    @property
    def public_base(self) -> str:
        return (self.public_base_url or self.issuer).rstrip("/")

    def upstreams(self) -> dict[str, str]:
        return {
            "referral": self.referral_url,
            "casemgmt": self.casemgmt_url,
            "consent": self.consent_url,
            "prosecution": self.prosecution_url,
            "audit": self.audit_url,
            "evaluation": self.evaluation_url,
        }
