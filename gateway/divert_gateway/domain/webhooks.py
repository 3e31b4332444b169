"""Webhook rules per Standard Webhooks: secrets, signatures, the retry schedule, and which targets are allowed.

Delivery is at least once: a receiver dedupes on `webhook-id` (the event id), which stays the same on every retry
and replay.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from standardwebhooks import Webhook

# Standard Webhooks' schedule: the first attempt at once, then each delay after a failure; then it gives up.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DISABLE_AFTER = timedelta(days=5)
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def next_retry(attempts_made: int, now: datetime) -> datetime | None:
    """When to try again after `attempts_made` failed attempts, or None once the schedule is spent."""
    if attempts_made >= len(RETRY_SCHEDULE):
        return None
    return now + RETRY_SCHEDULE[attempts_made]


def sign(event_id: str, sent_at: datetime, body: str, secret: str, previous: str | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers; during a rotation both secrets sign (space-separated signatures)."""
    signatures = [Webhook(secret).sign(event_id, sent_at, body)]
    if previous:
        signatures.append(Webhook(previous).sign(event_id, sent_at, body))
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class TargetRefused(ValueError):
    """A URL the gateway will not deliver to."""


def check_target(url: str, *, allow_private: bool) -> str:
    """The URL if deliverable: https, and (outside development) not resolving to loopback or private addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("url must be an absolute https URL")
    if parts.username or parts.password:
        raise TargetRefused("url may not carry credentials")
    if allow_private:
        return url
    if parts.scheme != "https":
        raise TargetRefused("url must be https")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise TargetRefused("url's host does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise TargetRefused("url may not resolve to a loopback, private or reserved address")
    return url
