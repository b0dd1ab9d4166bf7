"""Log set-up: one JSON object per line (or plain text for a terminal), configured at start-up.

Only the `seqserve` and `uvicorn` loggers are configured, when the server or app starts (never at
import), so embedding the app or running tests does not rewire anyone else's logging; uvicorn's
own lines (start-up, shutdown, malformed requests) come out in the same format as ours.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
# uvicorn's `color_message` repeats the message with terminal colours.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# Control characters (C0, DEL, C1, line and paragraph separators) shown as escapes in text logs:
# a request path holding "%0A" must not start a forged line of its own.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def escape_controls(text: str) -> str:
    return text.translate(_ESCAPES)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        extra = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD)
        text = escape_controls(f"{self.formatMessage(record)} {extra}".rstrip())
        if record.exc_info:  # a traceback keeps its lines: its text is the server's, not a client's
            text += "\n" + self.formatException(record.exc_info)
        return text


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record arrives, not when the app started:
    test runners and process managers swap it, and a stale stream may be closed."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str, fmt: str) -> None:
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for name in ("seqserve", "uvicorn"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):  # idempotent: a second app in one process replaces it
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level.upper())
        logger.propagate = False
    # uvicorn.error hands its records up to "uvicorn" (uvicorn's own set-up, when it ran, gave it
    # a handler of its own). Access lines are off: the app logs each request itself.
    logging.getLogger("uvicorn.error").handlers.clear()
    logging.getLogger("uvicorn.error").propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate, access.disabled = False, True
