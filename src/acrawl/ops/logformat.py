"""Log output: the text format for people, and ``--log-format json`` for machines (one JSON
object per line).

>>> setup_logging("INFO", "json")
>>> logging.getLogger("acrawl").info("hello", extra={"stats": {"pages": 3}})
{"time": "2025-01-01T12:00:00.000Z", "level": "INFO", "logger": "acrawl", "message": "hello",
 "pages": 3}

A record's ``extra={"stats": {...}}`` fields become fields of the JSON object (the text
format shows only the message); an exception's traceback is the ``exception`` field, so a
record never spans lines.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["JsonFormatter", "is_json", "setup_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: the fields every record has (and the standard LogRecord attributes, which are not fields)
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, then the record's extra fields, then ``exception`` if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _RESERVED or key.startswith("_"):
                continue
            if key == "stats" and isinstance(value, dict):
                out.update((k, v) for k, v in value.items() if k not in out)
            else:
                out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup_logging(level: str, fmt: str = "text") -> None:
    """Send every log record to stderr, as text or JSON, from ``level`` up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json"
                         else logging.Formatter(TEXT_FORMAT, "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("asyncio").setLevel(logging.WARNING)


def is_json() -> bool:
    """Whether the root logger writes JSON (``setup_logging(..., "json")``)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
