"""How bizgraph's processes log: one JSON object a line for machines, readable lines on a terminal.

A record may carry structured fields (``extra={"fields": {...}}``): JSON lines hold them as
keys of their own, text lines as ``key=value`` after the message.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

# Attributes every LogRecord has; what a handler adds beyond them is not a field.
FIELDS = "fields"


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    value = getattr(record, FIELDS, None)
    return value if isinstance(value, dict) else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(fields_of(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # default=str: a field of a type orjson does not know is logged as text, never dropped.
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = fields_of(record)
        if not extra:
            return text
        pairs = " ".join(f"{key}={_text(value)}" for key, value in extra.items() if value is not None)
        return f"{text} {pairs}"


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value) or "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def configure_logging(
    level: str, log_format: str = "auto", stream: TextIO | None = None, *, force: bool = False
) -> None:
    """The root logger's one handler on stderr: text when ``log_format`` is "text", or "auto"
    and stderr is a terminal; JSON otherwise. ``force`` replaces handlers already there."""
    root = logging.getLogger()
    if root.handlers and not force:
        # As ``logging.basicConfig``: a process whose logging is set up already (a test runner,
        # an embedding application) keeps its own handlers.
        return
    stream = stream or sys.stderr
    as_text = log_format == "text" or (log_format == "auto" and stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter() if as_text else JsonFormatter())
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
