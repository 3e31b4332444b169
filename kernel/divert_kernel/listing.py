"""Cursor pagination that pages over what may be served, so totals and pages never reveal a withheld row."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from divert_kernel.errors import InvalidInput

Row = dict[str, Any]
FetchAfter = Callable[[str | None, int], Awaitable[Sequence[Row]]]
Permitted = Callable[[list[str]], Awaitable[set[str]]]


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(UUID(last_id).bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id a page starts after; a cursor we did not issue is the caller's error, named."""
    if cursor is None:
        return None
    try:
        return str(UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))
    except (ValueError, binascii.Error):
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from None


async def served_page(
    fetch_after: FetchAfter, permitted: Permitted | None, *, key: str, after: str | None, limit: int
) -> tuple[list[Row], str | None]:
    """Up to `limit` rows that may be served, and the cursor after the last one served (None at the end).

    Rows are fetched in key order and decided a page at a time; a row denied at serving time is skipped and
    the page refilled, so the cursor only ever names a row the caller was allowed to see.
    """
    served: list[Row] = []
    while True:
        rows = await fetch_after(after, limit)
        ids = [str(r[key]) for r in rows]
        allowed = await permitted(ids) if permitted and ids else set(ids)
        for row_id, row in zip(ids, rows, strict=True):
            after = row_id
            if row_id in allowed:
                served.append(row)
                if len(served) == limit:
                    return served, encode_cursor(row_id)
        if len(rows) < limit:
            return served, None
