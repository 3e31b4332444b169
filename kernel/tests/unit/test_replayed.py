"""A replayed answer travels as an exception through the bus: it must survive being raised and caught."""

from __future__ import annotations

import pytest

from divert_kernel.idempotency import Replayed


def test_a_replay_can_be_raised_and_keeps_the_recorded_answer() -> None:
    with pytest.raises(Replayed) as caught:
        try:
            raise Replayed(201, b'{"referral_id": "r-1"}', "application/json", "/v1/referrals/r-1")
        except Replayed:
            raise  # re-raising sets __traceback__ again, as the bus's own handlers do
    assert (caught.value.status, caught.value.body, caught.value.location) == (
        201,
        b'{"referral_id": "r-1"}',
        "/v1/referrals/r-1",
    )
    # Middleware (anyio, Starlette) may clear or set a traceback by assignment; a frozen exception refused it.
    caught.value.__traceback__ = None
    caught.value.__cause__ = None
