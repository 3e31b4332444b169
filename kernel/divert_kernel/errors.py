"""Error kinds every service's domain errors derive from; none of them knows about HTTP."""

from __future__ import annotations


class DivertError(Exception):
    """Base of every expected error; `detail` must never contain personal data."""

    title = "Request refused"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DivertError):
    title = "Not found"


class InvalidInput(DivertError):
    """A request value no schema could catch (a cursor we did not issue, a header's format)."""

    title = "Invalid request"


class RuleViolated(DivertError):
    """A command broke a domain rule; nothing was recorded."""

    title = "Rule violated"


class Conflict(DivertError):
    """The command contradicts the current state (e.g. non-coercion, already done)."""

    title = "Conflict"


class ConcurrencyError(Conflict):
    """Another writer appended to the stream first; retry with fresh state."""

    title = "Concurrent update"


class Forbidden(DivertError):
    title = "Forbidden"


class Unauthenticated(DivertError):
    title = "Unauthenticated"


class Unavailable(DivertError):
    """A dependency needed to answer safely is down; the request is refused, never served."""

    title = "Service unavailable"
