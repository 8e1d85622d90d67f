"""Log formats: one JSON object per line (PDP_LOG_FORMAT=json, the default) or plain text.

Pure Python (no Django), so the web server's start-up (pdp_portal/serve.py) can use it too. `RequestIdFilter` puts the
current request id on every record; `JsonFormatter` writes the record's standard fields and any
`extra=` fields given to the logging call.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from .context import current_request_id

# The attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class RequestIdFilter(logging.Filter):
    """Add `request_id` (the current request's, or "-" outside one) to every record.

    Django logs a refused or failed request ("Forbidden: /x") after the middleware has finished with
    it: such a record carries the request, whose id is taken from it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING dictionary of the web and the worker: every record to stderr, with its request id."""
    if log_format not in ("json", "text"):
        raise ValueError(f"PDP_LOG_FORMAT must be json or text, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "operations.logformat.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "operations.logformat.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": log_format}},
        "root": {"handlers": ["console"], "level": level},
    }
