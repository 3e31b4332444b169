from pydantic_settings import SettingsConfigDict

from divert_kernel.settings import ServiceSettings


class CaseMgmtSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CASEMGMT_", extra="ignore")

    caseload_cap: int = 25
    caseload_preferred: int = 15
    # How many active participants the program can carry at once (the OWG's capacity for new referrals).
    program_capacity: int = 200
