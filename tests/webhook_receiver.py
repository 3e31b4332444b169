"""A webhook receiver for tests: an HTTP server on 127.0.0.1 that verifies every delivery with the
`standardwebhooks` library and records it; its answers are scripted per request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Delivery:
    headers: dict[str, str]
    body: dict[str, Any]
    verified_with: list[int]  # indices of the secrets whose signature verified


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], int] = lambda body: 204
    deliveries: list[Delivery] = field(default_factory=list)
    unverified: int = 0
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._receive(raw, headers)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the dispatcher sends up to 32 at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _receive(self, raw: str, headers: dict[str, str]) -> int:
        with self._lock:
            self.requests += 1
            verified = []
            for i, secret in enumerate(self.secrets):
                try:
                    Webhook(secret).verify(raw, headers)
                    verified.append(i)
                except WebhookVerificationError:
                    pass
            if not verified:
                self.unverified += 1
                return 401
            body = json.loads(raw)
            status = self.answer(body)
            if 200 <= status < 300:
                self.deliveries.append(Delivery(headers, body, verified))
            return status

    def ids(self) -> list[str]:
        with self._lock:
            return [d.headers["webhook-id"] for d in self.deliveries]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
