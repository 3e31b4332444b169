from pydantic import Field
from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings
from evaluation.domain.rows import DEFAULT_REFERENCE


class EvaluationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVALUATION_", extra="ignore")

    # The reference group of each view's relative rate index (OJJDP): a site setting. Per jurisdiction, JSON:
    # EVALUATION_REFERENCE_GROUPS='{"santa-fe": {"race": "white", "ethnicity": "not_hispanic_or_latino"}}'.
    reference_groups: dict[str, dict[str, str]] = Field(default_factory=dict)

    def reference_for(self, jurisdiction: str) -> dict[str, str]:
        return self.reference_groups.get(jurisdiction, DEFAULT_REFERENCE)
