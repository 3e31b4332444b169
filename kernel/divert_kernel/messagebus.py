"""One handler per command, run inside a unit of work that commits once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from divert_kernel import context, idempotency
from divert_kernel.errors import ConcurrencyError
from divert_kernel.uow import UnitOfWork

CommandHandler = Callable[[Any, UnitOfWork], Awaitable[Any]]


class MessageBus:
    """Dispatch a command to its handler; a lost optimistic race is retried on fresh state."""

    def __init__(
        self,
        engine: AsyncEngine,
        service: str,
        handlers: Mapping[type, CommandHandler],
        on_commit: Callable[[], None] | None = None,
        retries: int = 3,
    ) -> None:
        self._engine = engine
        self._service = service
        self._handlers = handlers
        self._on_commit = on_commit
        self._retries = retries

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._engine, self._service, self._on_commit)

    async def handle(self, command: Any) -> Any:
        handler = self._handlers[type(command)]
        keyed = idempotency.current()
        client_id = context.current().actor.client_id
        if keyed is not None and keyed.pending is None and keyed.client_id is None and client_id != "system":
            return await self._handle_keyed(handler, command, keyed, client_id)
        for attempt in range(self._retries):
            try:
                async with self.uow() as uow:
                    result = await handler(command, uow)
                    await uow.commit()
                    return result
            except ConcurrencyError:
                if attempt == self._retries - 1:
                    raise
        raise AssertionError("unreachable")

    async def _handle_keyed(
        self, handler: CommandHandler, command: Any, keyed: idempotency.KeyedRequest, client_id: str
    ) -> Any:
        """Claim the key, run the handler and append its events; the commit waits for the response
        (divert_kernel.idempotency records it in this same transaction)."""
        for attempt in range(self._retries):
            uow = self.uow()
            await uow.__aenter__()
            try:
                await idempotency.claim(uow.conn, client_id, keyed)
                result = await handler(command, uow)
                await uow.flush()
            except ConcurrencyError:
                await uow.close()
                if attempt == self._retries - 1:
                    raise
                continue
            except BaseException:
                await uow.close()
                raise
            keyed.client_id, keyed.pending = client_id, uow
            return result
        raise AssertionError("unreachable")
