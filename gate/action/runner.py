"""The runner's files and stdout for one Action run (`ActionsIO`): the step's outputs
(`GITHUB_OUTPUT`, as `Outputs` declares them), the job summary (`GITHUB_STEP_SUMMARY`, kept
within its 1 MiB), workflow commands (masks, annotations) on the stdout it is given, and what
the run left in the workspace handed back to the workspace's owner (`hand_over`).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TextIO

from gate.action.commands import workflow_command
from gate.report.render import SUMMARY_MAX_BYTES
from gate.report.shorten import shorten_markdown, summary_note

__all__ = ["ANNOTATION_LEVELS", "OUTPUT_NAMES", "ActionsIO", "Outputs"]


@dataclass(frozen=True, slots=True)
class Outputs:
    """The step's outputs, one field each, as action.yml declares them (`OUTPUT_NAMES`)."""

    verdict: str  # pass | warn | fail | error | cancelled | pending (submitted to a service)
    passed: bool
    failed_checks: int = 0
    report_path: str = ""  # relative to the workspace; "" when there is no report
    json_path: str = ""
    comment_url: str = ""
    service_gate_id: str = ""  # with service-url: the durable gate's id (`gt_...`)
    service_gate_url: str = ""  # and its URL on the service

    def as_dict(self) -> dict[str, str]:
        """`{output name: text}` in the declared order, as `ActionsIO.set_outputs` takes it:
        `failed_checks` is written `failed-checks`, a bool `true` or `false`."""
        return {_output_name(f.name): _text(getattr(self, f.name)) for f in fields(self)}


def _output_name(field_name: str) -> str:
    return field_name.replace("_", "-")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# The outputs action.yml declares and the Action writes, in order.
OUTPUT_NAMES: tuple[str, ...] = tuple(_output_name(f.name) for f in fields(Outputs))
ANNOTATION_LEVELS = ("error", "warning", "notice")
_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_DELIMITER_TRIES = 16
RUNNER_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")  # appended to; the runner creates them


# --- the runner's files and stdout -------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_hex(16)


class ActionsIO:
    """Writes to the runner's files and stdout; constructed from environ + a stdout stream.
    `workspace`: GITHUB_WORKSPACE, else `cwd` (the process's working directory)."""

    __slots__ = (
        "_environ",
        "_euid",
        "_new_token",
        "_runner_files_before",
        "_stdout",
        "_summary_limit",
        "workspace",
    )

    def __init__(
        self,
        environ: Mapping[str, str],
        stdout: TextIO,
        *,
        token_factory: Callable[[], str] = _new_token,
        summary_limit: int = SUMMARY_MAX_BYTES,
        euid: int | None = None,
        cwd: Path | None = None,
    ) -> None:
        self._environ = environ
        self._stdout = stdout
        self._new_token = token_factory
        self._summary_limit = summary_limit
        self._euid = _effective_uid() if euid is None else euid
        workspace = environ.get("GITHUB_WORKSPACE", "").strip()
        if workspace:
            self.workspace = Path(workspace)
        else:
            self.workspace = cwd if cwd is not None else Path.cwd()
        # Which runner files exist before the run: only those it creates are handed over.
        self._runner_files_before = {
            name: path.exists() for name, path in self._runner_files().items()
        }

    def _runner_files(self) -> dict[str, Path]:
        paths = {name: self._environ.get(name, "").strip() for name in RUNNER_FILES}
        return {name: Path(path) for name, path in paths.items() if path}

    def _log(self) -> Any:
        import structlog  # noqa: PLC0415 - logging only on the rare paths that need it

        return structlog.get_logger("gate.action.runner")

    def _command(self, line: str) -> None:
        self._stdout.write(line + "\n")
        self._stdout.flush()

    def add_mask(self, secret: str) -> None:
        """Have the runner mask `secret` in the log (each line too, for a multi-line one)."""
        if not secret:
            return
        self._command(workflow_command("add-mask", secret))
        lines = [line for line in re.split(r"\r?\n|\r", secret) if line.strip()]
        if len(lines) > 1:
            for line in lines:
                self._command(workflow_command("add-mask", line))

    def annotate(
        self,
        level: str,
        message: str,
        *,
        title: str | None = None,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        """An `::error::`, `::warning::` or `::notice::` annotation (GitHub shows 10 a step)."""
        if level not in ANNOTATION_LEVELS:
            raise ValueError(f"annotation level must be one of {ANNOTATION_LEVELS}, got {level!r}")
        command = workflow_command(level, message, title=title, file=file, line=line, col=col)
        self._command(command)

    def _delimiter(self, name: str, value: str) -> str:
        for _ in range(_DELIMITER_TRIES):
            delimiter = f"ghadelimiter_{self._new_token()}"
            if delimiter not in value and delimiter not in name:
                return delimiter
        raise RuntimeError("could not make an output delimiter that the value does not contain")

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Append `name<<DELIM`, the value and `DELIM` per output to `GITHUB_OUTPUT`."""
        for name, value in outputs.items():
            if not _OUTPUT_NAME.match(name):
                raise ValueError(f"not a valid output name: {name!r}")
            if not isinstance(value, str):
                raise TypeError(f"output {name} must be a string, got {type(value).__name__}")
        if not outputs:
            return
        path = self._environ.get("GITHUB_OUTPUT", "").strip()
        if not path:
            self._log().warning(
                "actions.no_output_file",
                outputs=sorted(outputs),
                note="GITHUB_OUTPUT is not set: the step's outputs are not written",
            )
            return
        chunks = []
        for name, value in outputs.items():
            delimiter = self._delimiter(name, value)
            chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        try:
            with Path(path).open("a", encoding="utf-8", newline="") as file:
                file.write("".join(chunks))
        except OSError as exc:
            self._log().warning(
                "actions.output_write_failed", path=path, reason=exc.strerror or type(exc).__name__
            )

    def summary_room(self) -> int | None:
        """Bytes `GITHUB_STEP_SUMMARY` can still take under its 1 MiB limit; None: no summary.

        Leaves one byte for the newline `append_summary` may put before the new text.
        """
        path_text = self._environ.get("GITHUB_STEP_SUMMARY", "").strip()
        if not path_text:
            return None
        try:
            existing = Path(path_text).stat().st_size
        except FileNotFoundError:
            existing = 0
        except OSError:
            return None
        return max(self._summary_limit - existing - 2, 0)

    def append_summary(self, markdown: str, *, full_report_path: str | None = None) -> None:
        """Append to `GITHUB_STEP_SUMMARY`, shortened so the file stays within 1 MiB.

        The file's current size counts. A shortened summary ends with a note pointing to
        `full_report_path` (when given). No `GITHUB_STEP_SUMMARY`: nothing is written.
        """
        path_text = self._environ.get("GITHUB_STEP_SUMMARY", "").strip()
        if not path_text:
            return
        path = Path(path_text)
        # Lone surrogates cannot be written as UTF-8; replace them before measuring.
        text = markdown.encode("utf-8", errors="replace").decode("utf-8")
        if not text.endswith("\n"):
            text += "\n"
        try:
            existing = path.stat().st_size if path.exists() else 0
            if existing:
                with path.open("rb") as file:
                    file.seek(-1, 2)
                    if file.read(1) != b"\n":
                        text = "\n" + text
            budget = self._summary_limit - existing
            if len(text.encode("utf-8")) > budget:
                shortened = shorten_markdown(text, budget, summary_note(full_report_path))
                self._log().warning(
                    "actions.summary_truncated",
                    size=len(text.encode("utf-8")),
                    room=max(budget, 0),
                    full_report=full_report_path,
                )
                if shortened is None:
                    return
                text = shortened
            with path.open("a", encoding="utf-8", newline="") as file:
                file.write(text)
        except OSError as exc:
            self._log().warning(
                "actions.summary_write_failed",
                path=path_text,
                reason=exc.strerror or type(exc).__name__,
            )

    # --- ownership ---------------------------------------------------------------------------

    def hand_over(self, written: Iterable[str] = ()) -> list[Path]:
        """Give what this run created to the owner of where it lies; the paths changed.

        The runner starts a Docker action as root in a workspace its own user owns, so what
        root creates there (`.eval-gate/<gate-id>/...`) could not be deleted or overwritten by
        later steps. Each path of `written` (relative to the workspace) and each folder on the
        way to it is given the workspace's uid and gid; `GITHUB_OUTPUT` and
        `GITHUB_STEP_SUMMARY`, if this run created them rather than appended to them, get
        their folder's. Only what this process's user (root) owns is changed, symbolic links
        are neither followed nor changed, and a path leaving the workspace is skipped. Does
        nothing unless running as root. Never raises: a failure is one warning in the log.
        """
        if self._euid != 0:
            return []
        changed: list[Path] = []
        failures: list[str] = []
        owner = _owner(self.workspace)
        if owner is not None:
            paths = [p for relative in written for p in _steps_into(self.workspace, relative)]
            for path in dict.fromkeys(paths):  # each folder once, in order
                _give(path, owner, self._euid, changed, failures)
        for name, path in self._runner_files().items():
            if self._runner_files_before.get(name, True):
                continue  # the runner's file: appended to, so its owner is unchanged
            folder_owner = _owner(path.parent)
            if folder_owner is not None:
                _give(path, folder_owner, self._euid, changed, failures)
        if failures:
            self._log().warning(
                "actions.chown_failed",
                count=len(failures),
                first=failures[0],
                note="files the Action wrote may stay owned by root; later steps can use sudo",
            )
        return changed


def _effective_uid() -> int:
    """This process's effective uid; -1 on Windows (the composite action), which has none and
    where nothing is handed over."""
    if sys.platform == "win32":
        return -1
    return os.geteuid()


def _owner(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_uid, info.st_gid


def _steps_into(root: Path, relative: str) -> list[Path]:
    """`root/a`, `root/a/b`, ... up to `root/relative`, stopping at the first path that is
    missing or a symbolic link (never followed); [] if `relative` could leave `root`."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or any(p in ("..", ".") for p in parts):
        return []
    steps: list[Path] = []
    path = root
    for part in parts:
        path /= part
        try:
            mode = path.lstat().st_mode
        except OSError:
            break
        if stat.S_ISLNK(mode):
            break
        steps.append(path)
    return steps


def _give(
    path: Path, owner: tuple[int, int], euid: int, changed: list[Path], failures: list[str]
) -> None:
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != euid:
            return  # not ours to give: someone else's, or a link
        if (info.st_uid, info.st_gid) == owner:
            return
        os.chown(path, owner[0], owner[1], follow_symlinks=False)
    except OSError as exc:
        failures.append(f"{path}: {exc.strerror or type(exc).__name__}")
        return
    changed.append(path)
