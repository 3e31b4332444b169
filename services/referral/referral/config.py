from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRAL_", extra="ignore")

    default_intake_window_days: int = 30
