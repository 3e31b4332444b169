"""The gateway's timed work as commands, each with one handler, sent by the kernel's scheduler
(divert_kernel.schedule): on one gateway replica at a time, a failure logged by class and retried next tick.

The gateway has no unit of work to hand a handler: a dispatch keeps its own short transactions (claim, then one
settle per message), since no transaction may stay open across an HTTP call to a partner's endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from divert_gateway.delivery.dispatch import Dispatcher
from divert_gateway.domain.commands import DispatchDueWebhooks
from divert_kernel.schedule import Every, Scheduler

# A due message waits at most this long (first attempts as much as retries), as under the former polling loop.
DISPATCH_EVERY_SECONDS = 0.2


class Commands:
    """The gateway's handler table; `handle` is all the scheduler asks of a bus."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._table: Mapping[type, Callable[[Any], Awaitable[Any]]] = {DispatchDueWebhooks: self.dispatch_due}

    async def handle(self, command: Any) -> Any:
        return await self._table[type(command)](command)

    async def dispatch_due(self, cmd: DispatchDueWebhooks) -> int:
        return await self._dispatcher.drain()


def scheduler(engine: AsyncEngine, dispatcher: Dispatcher, **options: Any) -> Scheduler:
    """The gateway's scheduler (`options`: the scheduler's, e.g. a test's `sleep`)."""
    jobs = [Every(DISPATCH_EVERY_SECONDS, DispatchDueWebhooks)]
    return Scheduler(engine, "gateway", Commands(dispatcher), jobs, **options)
