from pathlib import Path

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    checkpoint_seconds: float = 60.0
    # The Ed25519 key that signs checkpoints (PEM). Kept out of the database, so that someone who can write the
    # database still cannot forge a checkpoint over a rewritten chain.
    signing_key_file: Path | None = None

    @model_validator(mode="after")
    def _a_signing_key_outside_development(self) -> "AuditSettings":
        if self.environment != "development" and self.signing_key_file is None:
            raise ValueError("AUDIT_SIGNING_KEY_FILE is required outside development")
        return self
