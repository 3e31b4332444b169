from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    checkpoint_seconds: float = 60.0
