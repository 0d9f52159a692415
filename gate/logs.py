"""Logging set-up for the command line: structlog to stderr, console or JSON, secrets redacted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TextIO

import structlog

from gate.core.redact import redact, redacting_processor

LOG_FORMATS = ("console", "json")


def configure_logging(
    stream: TextIO, *, fmt: str = "console", secrets: Sequence[str] = (), level: str = "info"
) -> None:
    """Send structlog events to `stream`; called once by an entry point, never at import."""
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)
    processors: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redacting_processor(list(secrets)),
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def error_line(message: str, *, fmt: str, secrets: Sequence[str] = ()) -> str:
    """One line for an error a user caused: plain text on a terminal, a JSON event otherwise."""
    clean = redact(message, secrets).replace("\r", " ").replace("\n", " ")
    if fmt == "json":
        import json  # noqa: PLC0415 - only needed on this path

        return json.dumps({"event": "gate.error", "level": "error", "message": clean})
    return f"eval-gate: error: {clean}"
