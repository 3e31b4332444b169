from pathlib import Path

from limits import parse
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Per client and class of route, in the `limits` notation ("N/period"); see divert_gateway.entrypoints.ratelimit.
DEFAULT_RATE_LIMITS = {"reads": "600/minute", "writes": "120/minute", "exports": "10/minute", "token": "30/minute"}


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
    # Each service's address, or its replicas' addresses separated by commas: requests go to each in turn, and
    # one that refuses the connection is skipped (adapters/upstreams.py).
    referral_url: str = "http://127.0.0.1:8101"
    casemgmt_url: str = "http://127.0.0.1:8102"
    consent_url: str = "http://127.0.0.1:8103"
    prosecution_url: str = "http://127.0.0.1:8104"
    audit_url: str = "http://127.0.0.1:8105"
    evaluation_url: str = "http://127.0.0.1:8106"
    # The consent service as the delivery component's gate asks it: one address (unset: the first consent URL).
    delivery_consent_url: str | None = None
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
    # Rate limits, counted in the gateway's database so every replica shares them; a partial mapping (say
    # GATEWAY_RATE_LIMITS='{"exports": "5/minute"}') keeps the other classes' defaults.
    rate_limits: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    # How often a replica adds its reads/writes/exports counts to the shared rows and reads the others' back: a
    # client spread over several replicas may exceed a limit by what the others admitted within this interval
    # (adapters/ratecounts.py). 0: every request written through, exact across replicas, one statement each.
    rate_limit_sync_seconds: float = Field(default=0.2, ge=0, le=5)
    # Failed client authentications at /oauth/token. Per (client id, address) and per address: past either, that
    # address gets 429 (even with the right secret) until the window ends, so guessing from one place stops, and
    # a stranger's failures never lock the client out of its own address. Per client id from any address: a
    # higher, slower threshold that only delays guessing spread over many addresses: past it, failing attempts
    # get 429, and the right secret still succeeds from an address with no failures for that client (an
    # attacker holding many addresses gets one more guess per fresh address; a locked-out partner stays up).
    # The address is the peer's, or X-Forwarded-For's when the peer is a trusted proxy (uvicorn's
    # --forwarded-allow-ips): behind an Ingress without it, every partner shares one address.
    token_failures_per_client_address: str = "10/15 minutes"
    token_failures_per_client: str = "100/hour"
    token_failures_per_address: str = "50/15 minutes"

    @field_validator("rate_limits")
    @classmethod
    def _known_classes(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_RATE_LIMITS))
        if unknown:
            raise ValueError(f"unknown route classes {unknown}; known: {sorted(DEFAULT_RATE_LIMITS)}")
        for limit in value.values():
            parse(limit)
        return {**DEFAULT_RATE_LIMITS, **value}

    @field_validator("referral_url", "casemgmt_url", "consent_url", "prosecution_url", "audit_url", "evaluation_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        urls = split_urls(value)
        if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
            raise ValueError("one http(s) URL, or several separated by commas")
        return ",".join(urls)

    @field_validator("token_failures_per_client", "token_failures_per_client_address", "token_failures_per_address")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        parse(value)
        return value

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

    @property
    def gate_url(self) -> str:
        return self.delivery_consent_url or split_urls(self.consent_url)[0]

    def upstreams(self) -> dict[str, list[str]]:
        """Each service's replicas' addresses (one for a service run as one process)."""
        urls = {
            "referral": self.referral_url,
            "casemgmt": self.casemgmt_url,
            "consent": self.consent_url,
            "prosecution": self.prosecution_url,
            "audit": self.audit_url,
            "evaluation": self.evaluation_url,
        }
        return {name: split_urls(value) for name, value in urls.items()}


def split_urls(value: str) -> list[str]:
    return [url.strip().rstrip("/") for url in value.split(",") if url.strip()]
