"""The GitHub Actions runner adapter: the event, workflow commands, outputs and the job summary.

`parse_event` is pure (event name, payload and environ in, `EventContext` out); `read_event`
adds reading `GITHUB_EVENT_PATH`, and never raises. `ActionsIO` writes to the runner's files
(`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`), prints workflow commands on the stdout it is given,
and hands what the run left in the workspace back to the workspace's owner (`hand_over`).

Workflow-command escaping follows @actions/core exactly: in data `%`, CR and LF are
percent-encoded; in properties `:` and `,` are too (`,` is `%2C`, not `%3A`).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from gate.core import strict_json
from gate.core.strict_json import JSONDocumentError
from gate.report.render import SUMMARY_MAX_BYTES
from gate.report.shorten import shorten_markdown, summary_note

__all__ = [
    "ANNOTATION_LEVELS",
    "OUTPUT_NAMES",
    "ActionsIO",
    "EventContext",
    "escape_data",
    "escape_property",
    "parse_event",
    "read_event",
    "workflow_command",
]

# The outputs action.yml declares and the Action writes.
OUTPUT_NAMES: tuple[str, ...] = (
    "verdict",
    "passed",
    "failed-checks",
    "report-path",
    "json-path",
    "comment-url",
)
ANNOTATION_LEVELS = ("error", "warning", "notice")
MAX_EVENT_BYTES = 25 * 2**20  # GitHub caps webhook payloads at 25 MB

PULL_REQUEST_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
)
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_ZERO_SHA = re.compile(r"^0+$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_RUN_ID = re.compile(r"^[0-9]+$")
_COMMAND = re.compile(r"^[a-z][a-z0-9-]*$")
_PROPERTY = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_DELIMITER_TRIES = 16
RUNNER_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")  # appended to; the runner creates them


# --- the event ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventContext:
    """What the Action needs from the event that started the workflow."""

    event_name: str
    repository: str | None  # "owner/name"
    pr_number: int | None  # None: no pull request to comment on
    sha: str | None  # the commit a status goes on (a PR's head, never its merge commit)
    run_url: str | None  # the workflow run, for links and the status's target_url
    note: str | None = None  # why there is no PR (or no payload), for the log
    # The pull request's base commit, when the event says (pull_request*: pull_request.base.sha;
    # workflow_run: its pull_requests entry's base.sha). The rules are read there.
    base_sha: str | None = None
    # A pull-request event, or a workflow_run naming a pull request or started by one (a PR
    # from a fork: looked up by its head commit). The rules are then the base commit's.
    is_pull_request: bool = False


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _sha(value: Any) -> str | None:
    if isinstance(value, str):
        text = value.strip().lower()
        if _SHA.match(text) and not _ZERO_SHA.match(text):
            return text
    return None


def _repo(value: Any) -> str | None:
    if isinstance(value, str):
        text = value.strip()
        if _REPO.match(text) and not any(part in (".", "..") for part in text.split("/")):
            return text
    return None


def _run_url(repository: str | None, environ: Mapping[str, str]) -> str | None:
    run_id = environ.get("GITHUB_RUN_ID", "").strip()
    if repository is None or not _RUN_ID.match(run_id):
        return None
    server = environ.get("GITHUB_SERVER_URL", "").strip().rstrip("/") or "https://github.com"
    if not server.startswith(("https://", "http://")):
        return None
    return f"{server}/{repository}/actions/runs/{run_id}"


def _base_repo(entry: Mapping[str, Any]) -> str | None:
    """`owner/name` of a `workflow_run.pull_requests` entry's base repository, if it says."""
    url = _get(entry, "base", "repo", "url")
    if isinstance(url, str) and "/repos/" in url:
        return url.rsplit("/repos/", 1)[1].strip("/") or None
    return None


def _workflow_run_base(data: Mapping[str, Any], number: int | None) -> str | None:
    """The base.sha of the workflow_run's pull_requests entry for PR `number`."""
    entries = _get(data, "workflow_run", "pull_requests")
    if number is None or not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, Mapping) and _number(entry.get("number")) == number:
            return _sha(_get(entry, "base", "sha"))
    return None


def _workflow_run(data: Mapping[str, Any], repository: str | None) -> tuple[int | None, str | None]:
    """The PR number of a workflow_run event and, when there is none, why."""
    entries = _get(data, "workflow_run", "pull_requests")
    if not isinstance(entries, list) or not entries:
        return None, (
            "workflow_run.pull_requests is empty (GitHub leaves it empty for pull requests "
            "from forks): the pull request has to be looked up by its head commit"
        )
    others = 0
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        number = _number(entry.get("number"))
        if number is None:
            continue
        base = _base_repo(entry)
        if repository is not None and base is not None and base.lower() != repository.lower():
            others += 1  # a PR of another repository that happens to share the branch
            continue
        return number, None
    if others:
        return None, (
            "workflow_run.pull_requests names only pull requests of other repositories: "
            "the pull request has to be looked up by its head commit"
        )
    return None, "workflow_run.pull_requests holds no pull request number"


def parse_event(
    event_name: str, payload: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> EventContext:
    """The PR, commit and run of an event. Pure; missing or odd keys give None, never errors."""
    name = event_name.strip() or "unknown"
    data: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    repository = _repo(environ.get("GITHUB_REPOSITORY")) or _repo(
        _get(data, "repository", "full_name")
    )
    run_url = _run_url(repository, environ)
    env_sha = _sha(environ.get("GITHUB_SHA"))
    number: int | None = None
    sha: str | None
    note: str | None = None
    base_sha: str | None = None
    from_pr = name in PULL_REQUEST_EVENTS
    if name in PULL_REQUEST_EVENTS:
        number = _number(_get(data, "pull_request", "number")) or _number(data.get("number"))
        # The head commit: GITHUB_SHA is the merge commit (or the base branch, for _target).
        sha = _sha(_get(data, "pull_request", "head", "sha"))
        base_sha = _sha(_get(data, "pull_request", "base", "sha"))
        if number is None:
            note = f"the {name} event payload names no pull request"
    elif name == "workflow_run":
        number, note = _workflow_run(data, repository)
        sha = _sha(_get(data, "workflow_run", "head_sha"))
        base_sha = _workflow_run_base(data, number)
        triggered_by = _get(data, "workflow_run", "event")
        from_pr = isinstance(triggered_by, str) and triggered_by in PULL_REQUEST_EVENTS
    elif name == "issue_comment":
        sha = None  # the event does not say which commit; a status would be a guess
        if _get(data, "issue", "pull_request") is not None:
            number = _number(_get(data, "issue", "number"))
            if number is None:
                note = "the issue_comment event payload names no pull request"
        else:
            note = "issue_comment events on an issue have no pull request to comment on"
    elif name == "merge_group":
        sha = _sha(_get(data, "merge_group", "head_sha")) or env_sha
        note = "merge_group events have no pull request to comment on"
    elif name == "push":
        sha = env_sha or _sha(data.get("after"))
        note = "push events have no pull request to comment on"
    else:  # workflow_dispatch, schedule, release, repository_dispatch ...
        sha = env_sha
        note = f"{name} events have no pull request to comment on"
    return EventContext(
        event_name=name,
        repository=repository,
        pr_number=number,
        sha=sha,
        run_url=run_url,
        note=note,
        base_sha=base_sha,
        is_pull_request=from_pr or (name == "workflow_run" and number is not None),
    )


def _read_event_file(path: Path) -> bytes:
    """The event file's bytes; JSONDocumentError past `MAX_EVENT_BYTES` (read no further)."""
    with path.open("rb") as file:
        raw = file.read(MAX_EVENT_BYTES + 1)
    if len(raw) > MAX_EVENT_BYTES:
        raise JSONDocumentError(f"larger than {MAX_EVENT_BYTES // 2**20} MiB")
    return raw


def read_event(environ: Mapping[str, str]) -> EventContext:
    """`parse_event` on the payload at `GITHUB_EVENT_PATH`; an unreadable one is a note."""
    name = environ.get("GITHUB_EVENT_NAME", "")
    path = environ.get("GITHUB_EVENT_PATH", "").strip()
    payload: Any = None
    problem: str | None = None
    if not path:
        problem = "GITHUB_EVENT_PATH is not set, so the event is unknown"
    else:
        try:
            payload = strict_json.loads(_read_event_file(Path(path)))
        except OSError as exc:
            problem = f"cannot read the event file {path} ({exc.strerror or type(exc).__name__})"
        except JSONDocumentError as exc:  # not JSON, duplicate keys, too deep, not UTF-8...
            problem = f"the event file {path} is not valid JSON: {exc.reason}"
        else:
            if not isinstance(payload, dict):
                problem = f"the event file {path} does not hold a JSON object"
                payload = None
    context = parse_event(name, payload, environ)
    if problem is not None:
        note = f"{problem}; {context.note}" if context.note else problem
        context = replace(context, note=note)
    return context


# --- workflow commands -------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A command's message, as @actions/core escapes it: `%`, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value: as `escape_data`, plus `:` -> `%3A` and `,` -> `%2C`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str | int | None) -> str:
    """One workflow-command line, e.g. `::error title=Gate failed::map50 0.61 < 0.70`.

    Properties whose value is None or empty are left out; the rest are joined by `,` in the
    order given, as @actions/core does.
    """
    if not _COMMAND.match(command):
        raise ValueError(f"not a workflow command name: {command!r}")
    parts: list[str] = []
    for key, value in properties.items():
        if not _PROPERTY.match(key):
            raise ValueError(f"not a workflow command property name: {key!r}")
        if value is None or value == "":
            continue
        parts.append(f"{key}={escape_property(str(value))}")
    head = f"::{command}"
    if parts:
        head += " " + ",".join(parts)
    return f"{head}::{escape_data(message)}"


# --- the runner's files and stdout -------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_hex(16)


class ActionsIO:
    """Writes to the runner's files and stdout; constructed from environ + a stdout stream."""

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
    ) -> None:
        self._environ = environ
        self._stdout = stdout
        self._new_token = token_factory
        self._summary_limit = summary_limit
        self._euid = _effective_uid() if euid is None else euid
        workspace = environ.get("GITHUB_WORKSPACE", "").strip()
        self.workspace: Path = Path(workspace) if workspace else Path.cwd()
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
