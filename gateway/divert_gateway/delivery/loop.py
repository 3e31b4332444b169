"""The polling loop of the delivery component's feed publisher (webhooks are dispatched on a schedule)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("divert.delivery")


async def poll_forever(step: Callable[[], Awaitable[int]], what: str, idle: float = 0.2) -> None:
    """Run `step` (one batch; returns how many it claimed) for ever, idling when there was nothing to do.

    The loop must never die: a failed batch is logged by class and its claimed messages stay leased until
    their lease runs out, then are claimed again."""
    while True:
        try:
            if await step() == 0:
                await asyncio.sleep(idle)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.warning("delivery_step_failed", extra={"step": what, "error": type(exc).__name__})
            await asyncio.sleep(1)
