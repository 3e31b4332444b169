"""Issue 10, point 8: each preset cites its own site's law, and none makes exploiting others divertible."""

import json

import pytest

from referral.entrypoints.policy import PRESETS, PolicyIn

ALL = {path.stem: json.loads(path.read_text()) for path in sorted(PRESETS.glob("*.json"))}


def statutes(name: str) -> list[str]:
    return [o["statute"] for o in ALL[name]["divertible_offenses"]]


def test_the_four_presets_are_there() -> None:
    assert set(ALL) == {"king-county-30-day", "santa-fe-7-day", "toolkit-example-1", "toolkit-example-2"}


def test_king_county_cites_washington_law_only() -> None:
    cited = statutes("king-county-30-day")
    assert cited and all(s.startswith(("RCW ", "KCC ")) for s in cited), cited
    assert not any("Penal Law" in s for s in cited)


def test_santa_fe_cites_new_mexico_statutes_not_washingtons() -> None:
    cited = statutes("santa-fe-7-day")
    assert cited and all(s.startswith("NMSA 1978") for s in cited), cited
    assert not any("RCW" in s for s in cited)


@pytest.mark.parametrize("name", sorted(ALL))
def test_no_preset_makes_assisting_or_promoting_prostitution_divertible(name: str) -> None:
    codes = {o["code"] for o in ALL[name]["divertible_offenses"]}
    assert "40B" not in codes
    assert "exploits_minors_or_others" in ALL[name]["exclusions"]


@pytest.mark.parametrize("name", sorted(ALL))
def test_each_preset_is_a_policy_the_api_accepts(name: str) -> None:
    PolicyIn.model_validate({k: v for k, v in ALL[name].items() if k != "description"})


def test_site_presets_name_their_sites_time_zones() -> None:
    assert ALL["king-county-30-day"]["time_zone"] == "America/Los_Angeles"
    assert ALL["santa-fe-7-day"]["time_zone"] == "America/Denver"
