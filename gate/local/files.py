"""Files on the local disk: the config and saved results read with size caps, reports written
safely. Shared by the command line and the Action (the service reads no local files).

Reads are capped whatever the file is (a FIFO, /dev/zero); a problem is one `UsageError` line
naming the file. Writes go to a temporary file renamed over the target, never through a link.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.config.loader import load_config
from gate.core import strict_json
from gate.core.errors import ConfigError, Problem, UsageError
from gate.core.model import GateConfig
from gate.core.strict_json import JSONDocumentError, decode_utf8
from gate.http.text import human_size
from gate.roboflow.api import MAX_BODY_BYTES

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_RESULTS_BYTES",
    "MAX_RESULTS_FILES",
    "MAX_RESULTS_TOTAL_BYTES",
    "ResultsFile",
    "read_capped_file",
    "read_config",
    "read_results",
    "shown_path",
    "write_file",
]

MAX_RESULTS_FILES = 1000
"""Saved results files in all (a folder is listed only this far): each is kept in memory."""


@dataclass(frozen=True, slots=True)
class ResultsFile:
    """A saved map-results document and the evaluation it belongs to."""

    eval_id: str
    path: Path


MAX_CONFIG_BYTES = 1024 * 1024
"""A config is a few KiB; more is the wrong file (or an attack on the validator)."""

MAX_RESULTS_BYTES = MAX_BODY_BYTES
"""The same cap as an answer from Roboflow: a saved map-results file is such an answer."""

MAX_RESULTS_TOTAL_BYTES = 256 * 1024 * 1024
"""All --results files together: each is parsed and kept in memory for the whole run."""


def read_capped_file(path: Path, *, limit: int, what: str, flag: str, hint: str) -> bytes:
    """At most `limit` bytes of the file at `path`; UsageError (one line) if it holds more,
    is missing, is a directory or cannot be read. `what` names the file ("config file"),
    `flag` the option that named it, `hint` how to fix a missing or unreadable one.

    Reads `limit + 1` bytes at most, whatever the file is: a regular file, /dev/stdin, a pipe
    or a FIFO (which waits for its writer, as `cat` would), or /dev/zero.
    """
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} not found; {hint}") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {path} is a directory, not a file; check {flag}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot read {what} {path} ({reason}); {hint}") from None
    if len(data) > limit:
        raise UsageError(
            f"{what} {path} is larger than {human_size(limit)}, the limit for a {what}; "
            f"check that {flag} names the right file"
        )
    return data


def shown_path(path: Path, root: Path) -> str:
    """`path` as a reader at `root` knows it: relative to `root` (the working directory, the
    checkout) when inside it, whole otherwise. Only the names are compared; nothing is read."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_config(path: Path, *, shown: str | None = None) -> GateConfig:
    """The config at `path`, read (at most MAX_CONFIG_BYTES), decoded and validated; its
    problems and its rules' locations name it `shown` (default: `path` as given)."""
    data = read_capped_file(
        path,
        limit=MAX_CONFIG_BYTES,
        what="config file",
        flag="--config (the `config` input in the Action)",
        hint="create it (see docs/configuration.md) or point to it with --config (the `config` "
        "input in the Action)",
    )
    source = str(path) if shown is None else shown
    try:
        text = decode_utf8(data)
    except JSONDocumentError as exc:
        problem = Problem(f"{exc.problem}; save the config as UTF-8", source, exc.line, exc.column)
        raise ConfigError([problem]) from None
    return load_config(text, source)


def read_results(files: Sequence[ResultsFile]) -> dict[str, Any]:
    """Saved map-results documents by eval id (strict JSON; NaN kept, for the reader to mark
    malformed value by value)."""
    documents: dict[str, Any] = {}
    total = 0
    for item in files:
        if item.eval_id in documents:
            raise UsageError(
                f"two results files for eval {item.eval_id} ({item.path}); write ID=PATH to tell "
                "them apart"
            )
        data = read_capped_file(
            item.path,
            limit=MAX_RESULTS_BYTES,
            what="results file",
            flag="--results",
            hint="check --results",
        )
        total += len(data)
        if total > MAX_RESULTS_TOTAL_BYTES:
            raise UsageError(
                f"the results files add up to more than {human_size(MAX_RESULTS_TOTAL_BYTES)} "
                f"(at {item.path}); gate fewer evaluations at a time"
            )
        try:
            documents[item.eval_id] = strict_json.loads(data, allow_nan=True)
        except JSONDocumentError as exc:
            where = f"{item.path}:{exc.line}:{exc.column}" if exc.line else str(item.path)
            raise UsageError(
                f"{where}: {exc.problem}; save the map-results response as it was returned"
            ) from None
    return documents


def _refuse_links(path: Path, root: Path) -> None:
    """UsageError unless `path` lies under `root` with no symbolic link on the way."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        raise UsageError(f"cannot write {path}: it is outside {root}") from None
    current = root
    for part in relative.parts:
        current /= part
        if part == ".." or current.is_symlink():
            raise UsageError(
                f"cannot write {path}: {current.relative_to(root)} is a symbolic link (or "
                "leads out); the gate never follows links where it writes its reports, "
                "remove it"
            )


def write_file(path: Path, text: str, confine_to: Path | None = None) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`.

    The rename replaces a symbolic link at `path` rather than writing through it; with
    `confine_to`, a link anywhere between that folder and `path` is refused.
    """
    if confine_to is not None:
        _refuse_links(path, confine_to)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if confine_to is not None:
            _refuse_links(path, confine_to)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(temporary, flags, 0o644), "w", encoding="utf-8") as file:
            file.write(text)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
