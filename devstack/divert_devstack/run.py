"""`make run`: start the whole system, restart any child that dies, and keep it up until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from divert_devstack.stack import Stack


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def redacted(url: str) -> str:
    """A URL fit to print: any credential in it replaced."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"***@{parts.hostname}:{parts.port}")) if parts.username else url


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for chatty in ("alembic", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    home = Path(os.environ.get("DIVERT_HOME", ".divert"))
    stack = Stack(home)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        stack.start()
        print(f"Divert is up: gateway {stack.gateway_url}, NATS {redacted(str(stack.nats_url))}", flush=True)
        print(f"  endpoints:    {stack.home / 'endpoints.json'}", flush=True)
        print(f"  demo clients: {stack.home / 'demo-clients.json'}", flush=True)
        print(f"  logs:         {stack.home / 'logs'}/   (Ctrl-C stops everything)", flush=True)
        # One child dying stops nothing else: it is restarted (with backoff) and the restart is printed.
        while True:
            for line in stack.supervise():
                print(f"supervisor: {line}; see {stack.home / 'logs'}", file=sys.stderr, flush=True)
            time.sleep(0.25)
    except _Stop:
        print("stopping Divert", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
