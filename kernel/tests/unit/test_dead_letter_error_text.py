"""What a dead letter keeps of its error: the class, and for a validation error where and which kind; never a
message, which may quote the data (pydantic's `input_value=…`, a handler's ValueError naming someone)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from divert_kernel.dead_letters import error_text


class _Referral(BaseModel):
    name: str
    age: int


def test_a_validation_error_keeps_locations_and_types_but_no_input() -> None:
    with pytest.raises(ValidationError) as caught:
        _Referral.model_validate({"name": 7, "age": "Jane Roe, DOB 1990-01-01"})
    kept = error_text(caught.value)
    assert kept == "ValidationError: name: string_type; age: int_parsing"
    assert "Jane" not in kept and "input" not in kept


def test_any_other_error_keeps_only_its_class() -> None:
    assert error_text(ValueError("no participant named Jane Roe")) == "ValueError"
