"""Events the gateway publishes about partners' own subscriptions. Ids, codes and times: no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from divert_kernel.events import Event

DisableReason = Literal["gone", "failing"]


class WebhookEndpointDisabled(Event):
    """Divert stopped delivering to a webhook endpoint: it answered `410 Gone`, or failed for five days."""

    service = "gateway"

    endpoint_id: str
    jurisdiction: str
    agency: str
    reason: DisableReason
    disabled_at: datetime
