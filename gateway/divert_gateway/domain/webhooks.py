"""Webhook rules per Standard Webhooks: secrets, signatures, the retry schedule, and which targets are allowed.

Delivery is at least once: a receiver dedupes on `webhook-id` (the event id), which stays the same on every retry
and replay.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
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


# Not `is_global` in Python's tables, yet they route to IPv4 addresses chosen by whoever writes the URL: NAT64
# (RFC 6052) and 6to4 (RFC 3056) embed an IPv4 address (a private one, say) that a gateway on them would reach.
_TUNNELLED = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("2002::/16"),
)


@dataclass(frozen=True)
class Target:
    """A checked URL and, outside development, the address it was checked at: the one to connect to."""

    url: str
    address: str | None = None

    def request(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, extra headers and httpx extensions for one request pinned to the checked address.

        Connecting by name would resolve it again, and a name can answer differently the second time (DNS
        rebinding): so the request goes to the address itself, with the name in `Host` and, for TLS, as the SNI
        name the certificate is verified against."""
        if self.address is None:
            return self.url, {}, {}
        url = httpx.URL(self.url)
        host = url.raw_host.decode("ascii")
        authority = host if url.port is None else f"{host}:{url.port}"
        return str(url.copy_with(host=self.address)), {"host": authority}, {"sni_hostname": url.host}


def _parse(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a URL both the standard library and httpx (which sends it) accept."""
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise TargetRefused("url is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or not parsed.host:
        raise TargetRefused("url must be an absolute https URL")
    if parts.username or parts.password:
        raise TargetRefused("url may not carry credentials")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise TargetRefused("url may not contain spaces or control characters")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_target(url: str, *, allow_private: bool) -> str:
    """The URL if deliverable: https, and (outside development) not resolving to loopback or private addresses."""
    return resolve_target(url, allow_private=allow_private).url


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """The URL checked, with the global address to connect to (none in development, where anything goes)."""
    scheme, host, port = _parse(url)
    if allow_private:
        return Target(url)
    if scheme != "https":
        raise TargetRefused("url must be https")
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise TargetRefused("url's host does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global or any(address in net for net in _TUNNELLED):
            raise TargetRefused("url may not resolve to a loopback, private or reserved address")
    if not addresses:
        raise TargetRefused("url's host does not resolve")
    return Target(url, str(addresses[0]))
