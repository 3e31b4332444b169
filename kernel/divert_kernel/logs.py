"""JSON log lines for every service and the gateway: time, level, service, trace id, event; never personal data.

Divert's own calls name a stable snake_case event (`log.warning("outbox_relay_backing_off", extra={...})`) and
put only ids, counts and error class names in `extra`. A library's record (uvicorn, SQLAlchemy, nats-py,
asyncio) keeps its message template as the event, slugged, and drops its arguments: those can be a URL with
a query string, a statement's parameters or a refused value. Tracebacks keep their frames, never the
exception's message (a database error quotes the values it choked on).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

_EVENT = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[a-zA-Z%]")
# LogRecord's own attributes; anything else on a record of ours came from `extra`.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_configured = False


def event_name(template: object) -> str:
    """A stable snake_case event from a log message template: "Started server process [%d]" -> started_server_process."""
    text = _PLACEHOLDER.sub(" ", str(template)).lower()
    return "_".join(re.findall(r"[a-z0-9]+", text))[:80] or "log"


def _from_record(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """A standard-library record: our own keep their extras; a library's keep neither its arguments nor extras."""
    record: logging.LogRecord | None = event_dict.get("_record")
    if record is None or event_dict.get("_from_structlog"):
        return event_dict
    ours = isinstance(record.msg, str) and _EVENT.match(record.msg) is not None
    # A captured warning's message is its file, line and text: one stable event instead.
    event_dict["event"] = (
        record.msg if ours else "python_warning" if record.name == "py.warnings" else event_name(record.msg)
    )
    if record.name == "py.warnings":
        found = re.search(r": (\w+Warning): ", record.getMessage())
        event_dict["category"] = found.group(1) if found else None
    if ours:
        event_dict.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS})
    return event_dict


def _trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    context = trace.get_current_span().get_span_context()
    event_dict["trace_id"] = format(context.trace_id, "032x") if context.is_valid else None
    if context.is_valid:
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _exception_without_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        event_dict["error"] = exc_info[0].__name__
        event_dict["stack"] = "".join(traceback.format_tb(exc_info[2]))
    return event_dict


def _ordered(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The fields every line has first, so a person reading the file sees them in the same place."""
    first = {key: event_dict.pop(key, None) for key in ("time", "level", "service", "event", "trace_id")}
    return {**first, **event_dict}


def _processors(service: str) -> list[Any]:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict["service"] = service
        return event_dict

    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        add_service,
        _trace_ids,
    ]


def setup(service: str, level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process (our loggers, structlog's, every library's); once per process."""
    global _configured
    if _configured:
        return
    shared = _processors(service)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            _from_record,
            _exception_without_message,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _ordered,
            structlog.processors.JSONRenderer(default=str),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn installed its own plain-text handlers before loading the app: route its records through ours.
    # Its access log is off for good: it writes the raw path and query string; the request line comes from
    # divert_kernel.metrics, by route template.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").handlers.clear()
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every outgoing request with its full URL (a query string can carry personal data); the
    # gateway's proxying would double every request line. Its warnings still come through.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    _configured = True
