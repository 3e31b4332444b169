from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings


class ProsecutionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROSECUTION_", extra="ignore")

    lapse_every_seconds: float = 30.0
