from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings


class ProsecutionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROSECUTION_", extra="ignore")
