"""The event that started the workflow, as the Action needs it: which pull request, which
commit, which run (`EventContext`).

`parse_event` is pure (event name, payload and environ in, `EventContext` out); `read_event`
adds reading `GITHUB_EVENT_PATH` (capped at `MAX_EVENT_BYTES`), and never raises: an unreadable
event is a note on the context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gate.core import strict_json
from gate.core.strict_json import JSONDocumentError

__all__ = ["MAX_EVENT_BYTES", "PULL_REQUEST_EVENTS", "EventContext", "parse_event", "read_event"]

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
    # This job's run: `<run id>/<attempt>/<job>` (None outside a workflow run), so a submission
    # to a service is the same one when retried, and a new one when the job is re-run.
    run_key: str | None = None


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
        run_key=_run_key(environ),
    )


def _run_key(environ: Mapping[str, str]) -> str | None:
    run_id = environ.get("GITHUB_RUN_ID", "").strip()
    if not _RUN_ID.match(run_id):
        return None
    attempt = environ.get("GITHUB_RUN_ATTEMPT", "").strip()
    return f"{run_id}/{attempt if _RUN_ID.match(attempt) else '1'}/{environ.get('GITHUB_JOB', '')}"


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
