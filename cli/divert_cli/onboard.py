"""Onboarding an agency `divert clients add` names and the site directory does not list yet.

1. The agency joins its jurisdiction in the site directory (`.divert/sites.json`, or DIVERT_SITES_FILE): every
   service and the gateway re-read the file on their next lookup after it changes (divert_kernel.sites), so
   no restart. It joins no MOU term: the terms name relations and agencies, never types, so the new agency is
   a party to nothing until a participant's ROI or a new MOU version names it. A new jurisdiction is refused:
   it needs its own MOU, approved by its Policy Coordinating Group.
2. Its NATS feed: on the nats-server `make run` started, a partner account of its own (the same rules as every
   other agency's), a config reload, and its stream and durable; the partner's credentials are printed. A
   NATS this command does not run (DIVERT_NATS_URL, a Kubernetes release) cannot be reconfigured from here:
   the steps an operator takes are printed instead, and the gateway makes the feed once NATS lets it.
3. The gateway's delivery component reads the same directory: from then on the agency's entitled events are
   queued for its feed (gateway/divert_gateway/delivery).

Directory and NATS changes run under one lock file, so two concurrent onboardings never lose one another's edit.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from divert_cli import target
from divert_devstack import nats_reload
from divert_devstack.nats import Feed, NatsServer
from divert_kernel import bus
from divert_kernel.sites import Sites


class Refused(Exception):
    """The directory refuses this agency (the message says why); nothing was changed."""


def sites_path(where: target.Target) -> Path:
    return Path(os.environ.get("DIVERT_SITES_FILE", where.home / "sites.json"))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One onboarding at a time on this directory (an advisory lock beside it)."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def join(path: Path, jurisdiction: str, agency: str, agency_type: str) -> bool:
    """Put the agency in its jurisdiction's site; False if it is there already. Raises Refused."""
    directory = json.loads(path.read_text())
    site = next((s for s in directory["sites"] if s["jurisdiction"] == jurisdiction), None)
    if site is None:
        raise Refused(f"no jurisdiction {jurisdiction!r} in the site directory ({path})")
    known = {a["agency_id"]: a["agency_type"] for a in site["agencies"]}
    if agency in known:
        if known[agency] != agency_type:
            raise Refused(f"{agency} is a {known[agency]} agency in the site directory, not {agency_type}")
        return False
    site["agencies"].append({"agency_id": agency, "agency_type": agency_type})
    Sites.model_validate(directory)  # never write a directory the services would refuse
    _replace(path, json.dumps(directory, indent=2))
    return True


def _replace(path: Path, text: str) -> None:
    """Write beside, then rename over: a reader sees the old file or the new one, never half of one."""
    mode = path.stat().st_mode & 0o777
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def managed_nats(where: target.Target) -> tuple[NatsServer | None, str]:
    """The nats-server `make run` started, attached to; or None and why it cannot be reconfigured from here."""
    if os.environ.get("DIVERT_NATS_URL"):
        return None, "DIVERT_NATS_URL names a NATS this command does not run"
    try:
        return nats_reload.attach(where.home / "nats-server.json"), ""
    except nats_reload.NotAttachable as exc:
        return None, f"the NATS of {where.home} cannot be reconfigured from here: {exc}"


def give_feed(server: NatsServer, jurisdiction: str, agency: str) -> dict[str, Any]:
    """The agency's partner account (reloaded into the running server), its stream and durable; its credentials.
    The stream and durable are made here, as the operator, so the feed exists when the partner is told; the
    gateway, noticing the new agency, makes the same ones (whichever comes first)."""
    feed = Feed(jurisdiction, agency)
    if server.add_feeds([feed]):
        nats_reload.reload(server)
    asyncio.run(nats_reload.settle(server, feed))
    return dict(server.partner_credentials(jurisdiction, agency))


def operator_steps(where: target.Target, jurisdiction: str, agency: str, why: str) -> dict[str, Any]:
    """For a NATS run elsewhere: the credentials to give once the operator has configured it, and the steps."""
    feed = Feed(jurisdiction, agency)
    password = secrets.token_urlsafe(24)
    credentials = {
        "servers": [_without_credentials(where.nats_url)] if where.nats_url else [],
        "user": feed.user,
        "password": password,
        "inbox_prefix": bus.inbox_prefix(feed.user),
        "stream": feed.stream,
        "durable": feed.durable,
        "subject": feed.subject,
    }
    steps = [
        f"NATS: {why}. Until an operator does this, {feed.user} cannot connect:",
        f"  1. regenerate the NATS values from the site directory: python deploy/k8s/nats/accounts.py "
        f"{sites_path(where)} > values.yaml",
        f"  2. add the key {password_key(feed.user)} to the divert-nats-users Secret, with the password printed",
        "  3. upgrade the NATS release with those values (helm upgrade divert-nats …): nats-server reloads them",
        "  4. the gateway then makes the agency's feed stream and durable within seconds",
    ]
    return {"nats_credentials": credentials, "nats_setup": steps}


def password_key(user: str) -> str:
    """The user's key in the divert-nats-users Secret: the rule of deploy/k8s/apps.py `nats_password_key`."""
    return "NATS_PW_" + "".join(c if c.isalnum() else "_" for c in user).upper()


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port}")) if parts.username else url
