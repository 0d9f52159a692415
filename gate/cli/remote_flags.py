"""The flags of `eval-gate submit` and `eval-gate status`, declared once: the parser, `--help`
and the docs' table (`remote_flags_table`) come from them. Light: the parser is built on every
run, and `check` never loads the service's client."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from gate.cli.settings import FLAGS, flag_label
from gate.local.options import Option, markdown_table
from gate.remote import MAX_IDEMPOTENCY_KEY, MIN_INTERVAL, TOKEN_VARIABLE

__all__ = ["MAX_MAX_WAIT", "MAX_STATUS_WAIT", "STATUS_FLAGS", "SUBMIT_FLAGS", "remote_flags_table"]

MAX_MAX_WAIT = 7 * 86_400.0  # the service's bound on max_wait
MAX_STATUS_WAIT = 7 * 86_400.0  # --wait: no gate waits longer than this
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


# --- converters -----------------------------------------------------------------------------


def _text(raw: str) -> str:
    return raw


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"must be a number of seconds, got {raw[:40]!r}") from None


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw[:40]!r}") from None


def _repository(raw: str) -> str:
    if not _REPOSITORY.fullmatch(raw):
        raise ValueError(f"must be owner/name, got {raw[:60]!r}")
    return raw


def _sha(raw: str) -> str:
    if not _SHA.fullmatch(raw):
        raise ValueError("must be a full commit SHA (40 hexadecimal characters)")
    return raw.lower()


def _key(raw: str) -> str:
    if len(raw) > MAX_IDEMPOTENCY_KEY or not (raw.isascii() and raw.isprintable()):
        raise ValueError(f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    return raw


def _seconds_within(low: float, high: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        if not math.isfinite(value) or not low <= value <= high:
            return f"must be from {low:g} to {high:,.0f} seconds, got {value:g}"
        return None

    return check


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else f"must be at least 1, got {value}"


_SERVICE, _GITHUB, _WHAT = "the service", "reporting on GitHub", "what to gate"
_SERVER: Option[Any] = Option(
    "--server",
    "server",
    _text,
    None,
    f"the eval-gate service's base URL (its bearer token is read from `{TOKEN_VARIABLE}`)",
    shown_default="— (required)",
    metavar="URL",
    group=_SERVICE,
)
_JSON: Option[Any] = Option(
    "--json",
    "as_json",
    _text,
    default=False,
    help="print the service's JSON document instead of text",
    shown_default="—",
    group=_SERVICE,
    action="store_true",
)
_SHARED = ("--config", "--eval", "--model", "--version", "--baseline", "--workspace")
_OUTPUT = ("--max-chars", "--title", "--fail-on")

SUBMIT_FLAGS: tuple[Option[Any], ...] = (
    _SERVER,
    *(o for o in FLAGS if o.name in _SHARED),
    *(o for o in FLAGS if o.name in _OUTPUT),
    Option(
        "--max-wait",
        "max_wait",
        _number,
        None,
        "seconds the gate may wait for its evaluations to appear and finish, then it ends "
        "timed_out",
        shown_default="the service's: 86400",
        metavar="S",
        group=_SERVICE,
        check=_seconds_within(0, MAX_MAX_WAIT),
    ),
    Option(
        "--callback-url",
        "callback_url",
        _text,
        None,
        "the service POSTs the finished gate's document here, signed (the URL must be on the "
        "service's allow-list)",
        metavar="URL",
        group=_SERVICE,
    ),
    Option(
        "--idempotency-key",
        "idempotency_key",
        _key,
        None,
        "submitting again with the same key and config returns the same gate (e.g. "
        "`$CI_PIPELINE_ID-gate`)",
        shown_default="a new one each run",
        metavar="KEY",
        group=_SERVICE,
    ),
    _JSON,
    Option(
        "--repository",
        "repository",
        _repository,
        None,
        "report on this GitHub repository with the service's credentials",
        metavar="OWNER/NAME",
        group=_GITHUB,
    ),
    Option(
        "--sha",
        "sha",
        _sha,
        None,
        "the commit for the check run (created at once, completed with the verdict)",
        metavar="SHA",
        group=_GITHUB,
    ),
    Option(
        "--pull-number",
        "pull_number",
        _whole,
        None,
        "the pull request for the sticky comment",
        metavar="N",
        group=_GITHUB,
        check=_at_least_one,
    ),
)

STATUS_FLAGS: tuple[Option[Any], ...] = (
    _SERVER,
    Option(
        "--wait",
        "wait",
        _number,
        0.0,
        "seconds to wait for the gate to finish (0: look once)",
        shown_default="0",
        metavar="S",
        group=_SERVICE,
        check=_seconds_within(0, MAX_STATUS_WAIT),
    ),
    Option(
        "--poll-interval",
        "poll_interval",
        _number,
        10.0,
        f"seconds between looks while waiting (at least {MIN_INTERVAL:g})",
        shown_default="10",
        metavar="S",
        group=_SERVICE,
        check=_seconds_within(MIN_INTERVAL, 3600),
    ),
    _JSON,
    Option(
        "--quiet",
        "quiet",
        _text,
        default=False,
        help="print the status line only, not the report",
        shown_default="—",
        also="-q",
        group=_SERVICE,
        action="store_true",
    ),
)


def remote_flags_table() -> str:
    """The docs' table of `eval-gate submit`'s and `status`' options."""
    seen: dict[str, tuple[Option[Any], str]] = {}
    for command, flags in (("submit", SUBMIT_FLAGS), ("status", STATUS_FLAGS)):
        for option in flags:
            if option.name in seen:
                seen[option.name] = (option, "both")
            else:
                seen[option.name] = (option, command)
    rows = (
        (flag_label(option), command, option.shown(), option.help)
        for option, command in seen.values()
    )
    return markdown_table(("option", "command", "default", "meaning"), rows)
