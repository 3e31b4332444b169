from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings


class ConsentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSENT_", extra="ignore")
