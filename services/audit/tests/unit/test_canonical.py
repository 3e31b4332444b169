"""`fast_jcs` is the RFC 8785 library's output, byte for byte (and refuses what it refuses), on generated values.

The strategies lean on what separates the two encoders: control characters and quotes in strings, keys beyond
U+E000 and beyond the BMP (UTF-16 order), lone surrogates, integers around 2**53, floats of every magnitude.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.domain.canonical import _plain, fast_jcs, fast_sha256_hex, instant, sha256_hex
from audit.domain.chain import entry_from_envelope

_EDGE_CHARS = st.sampled_from(['"', "\\", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\ud7ff", "\ue000"])
_TEXT = st.text(st.one_of(st.characters(), _EDGE_CHARS, st.characters(min_codepoint=0xE000)), max_size=12)
_INTS = st.one_of(st.integers(), st.integers(min_value=2**53 - 3, max_value=2**53 + 3).map(lambda n: n * (-1) ** n))
_SCALARS = st.one_of(st.none(), st.booleans(), _INTS, st.floats(), _TEXT)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_TEXT, inner, max_size=6)),
    max_leaves=40,
)


def _outcome(canonicalise, value):  # type: ignore[no-untyped-def]
    try:
        return canonicalise(value)
    except ValueError as exc:  # the library's refusals (CanonicalizationError, UnicodeEncodeError) are ValueErrors
        return type(exc)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(_VALUES)
def test_any_json_value_canonicalises_to_the_librarys_bytes(value) -> None:  # type: ignore[no-untyped-def]
    assert _outcome(fast_jcs, value) == _outcome(rfc8785.dumps, value)


_ENVELOPE = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "type": st.sampled_from(["ChargeHeld", "DiversionOffered", "AccessDecided"]),
        "source": st.just("/divert/prosecution"),
        "subject": st.uuids().map(str),
        "jurisdiction": st.sampled_from(["seattle-king-county", "tulsa"]),
        "time": st.datetimes(timezones=st.just(UTC)).map(instant),
        "actoragency": _TEXT,
        "correlationid": st.one_of(st.none(), st.uuids().map(str)),
        "data": st.dictionaries(_TEXT, _VALUES, max_size=8),
    }
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_ENVELOPE, st.datetimes(timezones=st.just(UTC)))
def test_an_audit_entry_hashes_alike_either_way(envelope, at) -> None:  # type: ignore[no-untyped-def]
    entry = entry_from_envelope(envelope, at)
    assert _outcome(fast_sha256_hex, entry) == _outcome(sha256_hex, entry)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ue000": 2},  # UTF-16 puts the surrogate pair first; code points the other way
        {"a": 2**53},
        {"a": 1.0, "b": 1e21, "c": 5e-7},
        {"a": "\ud800"},
        {1: "a"},
        ("a", "b"),
    ],
)
def test_what_the_fast_path_cannot_take_goes_to_the_library(value) -> None:  # type: ignore[no-untyped-def]
    assert _outcome(fast_jcs, value) == _outcome(rfc8785.dumps, value)


def test_a_plain_entry_takes_the_fast_path_and_matches() -> None:
    entry = {"event_id": str(uuid.uuid4()), "recorded_at": instant(datetime.now(UTC)), "data": {"n": 1, "q": "é\n"}}
    assert _plain(entry)
    assert fast_jcs(entry) == rfc8785.dumps(entry)
