"""schemathesis against the gateway's /openapi.json, as every demo agency: no input may produce a 5xx.

Bounded: about FUZZ_BUDGET generated requests in all (half valid, half breaking the schema), spread over every
operation. Each operation's requests rotate through the demo agencies; once a refusal names the agency types
the call is for, the rest go to those, so the fuzzing reaches past the role check.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.conftest import System

FUZZ_BUDGET = int(os.environ.get("DIVERT_FUZZ_BUDGET", "300"))
_ROLE_REFUSAL = re.compile(r"this call is for agency types: ([a-z_, ]+)")


class Tokens:
    """Every demo agency's token, handed out in turn among the agency types an operation admits."""

    def __init__(self, system: System) -> None:
        self.by_type: dict[str, list[str]] = {}
        for agency_id, client in sorted(system.agencies.items()):
            self.by_type.setdefault(client["agency_type"], []).append(system.agency(agency_id).token())

    def rotation(self, types: list[str] | None = None) -> itertools.cycle[str]:
        return itertools.cycle([t for kind in (types or sorted(self.by_type)) for t in self.by_type.get(kind, [])])


def fuzz(http: httpx.Client, operation: schemathesis.APIOperation, tokens: Tokens, examples: int) -> Counter[str]:
    """Send `examples` generated requests for one operation; count them by status."""
    seen: Counter[str] = Counter()
    rotation = [tokens.rotation()]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
    )
    def call(case: schemathesis.Case) -> None:
        kwargs = case.as_transport_kwargs(base_url=str(http.base_url))
        headers = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {next(rotation[0])}"}
        data = kwargs.get("data")
        response = http.request(
            kwargs["method"],
            kwargs["url"],
            headers=headers,
            params=kwargs.get("params"),
            json=kwargs.get("json"),
            content=data if isinstance(data, bytes | str) else None,
            data=data if isinstance(data, dict) else None,
        )
        seen[str(response.status_code)] += 1
        if response.status_code == 403 and (role := _ROLE_REFUSAL.search(response.text)):
            rotation[0] = tokens.rotation([t.strip() for t in role.group(1).split(",")])

    call()
    return seen


def test_no_generated_request_gets_a_server_error(system: System) -> None:
    gateway = system.endpoints["gateway_url"]
    schema = schemathesis.openapi.from_dict(httpx.get(f"{gateway}/openapi.json", timeout=20).json())
    operations = [result.ok() for result in schema.get_all_operations()]
    tokens = Tokens(system)
    per_operation = max(2, FUZZ_BUDGET // len(operations))
    statuses: Counter[str] = Counter()
    server_errors: list[str] = []
    with httpx.Client(base_url=gateway, timeout=20) as http:
        for operation in operations:
            seen = fuzz(http, operation, tokens, per_operation)
            statuses.update(seen)
            server_errors += [f"{operation.label} -> {s}" for s in seen if s.startswith("5")]
    sent = sum(statuses.values())
    print(f"schemathesis: {sent} generated requests over {len(operations)} operations; statuses {dict(statuses)}")
    assert sent >= len(operations)
    assert server_errors == []
