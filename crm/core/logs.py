"""Logs: one line per request (request id, user, method, path, status, duration), JSON lines or text, to stdout.

LOG_FORMAT=json (production's default) writes one JSON object per line, for journald and any log shipper;
LOG_FORMAT=text (elsewhere) a readable line. Every request gets an id: the client's or the proxy's
X-Request-ID when it is a sane token, else a new one; it is echoed in the response and stamped on every
log line written while the request runs, so nginx's, gunicorn's and the app's lines join up.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from outside as a request id: short, no spaces or quotes (it goes into logs and a header).
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# The attributes every LogRecord has; anything else on a record came from `extra=` and is written out.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

# Libraries whose INFO lines are step-by-step progress (every PDF, every migration run): WARNING and up only.
_CHATTY = ("weasyprint", "fontTools", "alembic.runtime.plugins")

log = logging.getLogger("miaopu.request")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and not k.startswith("_")})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A readable line: time, level, logger, message, then the request id and user when there are some."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, with `[request_id user=N]` appended for lines written during a request."""
        line = super().format(record)
        tags = [str(record.request_id)] if getattr(record, "request_id", None) else []
        if getattr(record, "user_id", None) is not None:
            tags.append(f"user={record.user_id}")
        return f"{line} [{' '.join(tags)}]" if tags else line


class RequestIdFilter(logging.Filter):
    """Stamp the current request's id on every record written while a request runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; add request_id when inside a request."""
        if not hasattr(record, "request_id") and has_request_context():
            request_id = g.get("request_id")
            if request_id:
                record.request_id = request_id
        return True


class StdoutHandler(logging.StreamHandler):
    """A handler on whatever sys.stdout is at the time of writing (test runners swap it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        """The current sys.stdout."""
        return sys.stdout

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; we always look it up
        pass


def configure_logging(app: Flask) -> None:
    """Send the root logger to stdout in LOG_FORMAT at LOG_LEVEL, and log every request of `app`."""
    install_handler(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    register_request_log(app)


def install_handler(log_format: str, level: str | int) -> None:
    """The root logger's stdout handler in this format at this level (replacing one installed before)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_miaopu", False)]:
        root.removeHandler(handler)
    handler = StdoutHandler()
    handler._miaopu = True
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in _CHATTY:  # their INFO lines are progress reports, not events
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    if log_format == "json":
        # werkzeug's development server writes its own access lines; ours are the structured ones
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def register_request_log(app: Flask) -> None:
    """Give every request an id (echoed in X-Request-ID) and log one line when it ends."""

    @app.before_request
    def start():
        g.request_started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def finish(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        fields = {
            "request_id": request_id,
            "user_id": _user_id(),
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "remote_addr": request.remote_addr,
        }
        # a monitor polls the health check every few seconds: its successes are not worth a line each
        quiet = request.path == "/healthz" and response.status_code == 200
        log.log(logging.DEBUG if quiet else logging.INFO, "%s %s %s %sms", request.method, request.path,
                response.status_code, duration_ms, extra=fields)
        return response


def _user_id() -> int | None:
    """The signed-in user's id if this request already loaded the user (never a query just for the log)."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)
