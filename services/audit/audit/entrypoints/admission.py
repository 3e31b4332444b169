"""Who may read the audit log, with every attempt (refused ones too) chained as an entry of the log itself."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Depends, Request

from divert_kernel.auth import CurrentPrincipal, Principal
from divert_kernel.errors import Forbidden, InvalidInput


def _actor(principal: Principal) -> dict[str, Any]:
    return {
        "agency": principal.agency,
        "agency_type": principal.agency_type,
        "client": principal.client_id,
        "person": principal.person,
    }


async def note(request: Request, principal: Principal, resource: str, allowed: bool, subject: str | None) -> None:
    outcome = "permit" if allowed else "deny"
    await request.app.state.handlers.note_read(request.app.state.engine, resource, _actor(principal), outcome, subject)


def _role_check(role: Any) -> Any:
    # The role aliases are declared once, in divert_kernel.deps; their check is reused here so that a refusal
    # can be chained before it is raised (a bare alias would refuse before the route could log the attempt).
    return role.__metadata__[0].dependency


async def plays(role: Any, principal: Principal) -> bool:
    """Whether the caller is admitted by a divert_kernel.deps role alias."""
    try:
        await _role_check(role)(principal)
    except Forbidden:
        return False
    return True


def _subject(request: Request) -> str | None:
    try:
        return str(UUID(request.path_params["participant_id"]))
    except (KeyError, ValueError):
        return None


def admitted(role: Any, resource: str) -> Any:
    """A dependency admitting what the divert_kernel.deps alias `role` admits; a refusal is chained, then raised."""
    check = _role_check(role)

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        try:
            return await check(principal)  # type: ignore[no-any-return]
        except Forbidden:
            await note(request, principal, resource, False, _subject(request))
            raise

    return Depends(dependency)


def cursor_after(item: dict[str, Any]) -> str:
    raw = json.dumps([item["decided_at"].isoformat(), item["decision_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def before(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        at, decision_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), str(UUID(decision_id))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from None
