"""Errors of the evaluation domain; none of them knows about HTTP."""

from __future__ import annotations

from divert_kernel.errors import Forbidden, InvalidInput


class UnalignedPeriod(InvalidInput):
    """Only whole months, quarters and years are published."""


class UnknownView(InvalidInput):
    """`by` names no published breakdown."""


class ViewNotYours(Forbidden):
    """A view this kind of agency does not get (a police agency sees its own units only)."""
