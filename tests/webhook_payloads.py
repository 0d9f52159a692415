"""GitHub App webhook deliveries for tests and benches: payloads shaped as GitHub sends them,
signed for real (HMAC-SHA256 of the exact bytes sent).

`pull_request` payloads start from octokit/webhooks' real example
(tests/events/pull_request.synchronize.json, MIT) with the repository, number, head and time
changed; `check_run`, `check_suite`, `installation` and `installation_repositories` payloads
carry the fields GitHub's documentation lists for them (docs: webhook events and payloads),
enough of each object for the service and a reviewer to recognise them.
"""

from __future__ import annotations

import copy
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from gate.github.webhook import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

EVENTS = Path(__file__).resolve().parent / "events"
APP_ID = 4242
INSTALLATION_ID = 7_000_001


@cache
def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


def _repository(repo: str) -> dict[str, Any]:
    owner, name = repo.split("/")
    return {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": name,
        "full_name": repo,
        "private": False,
        "owner": {"login": owner, "id": 21031067, "type": "Organization"},
    }


def _app(app_id: int) -> dict[str, Any]:
    return {"id": app_id, "slug": "eval-gate", "name": "eval-gate", "node_id": f"A_{app_id}"}


def _installation(installation_id: int) -> dict[str, Any]:
    return {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}


def pull_request(
    action: str,
    repo: str,
    number: int,
    *,
    head: str,
    before: str | None = None,
    updated_at: str = "2026-12-07T12:00:00Z",
) -> dict[str, Any]:
    """`pull_request` `synchronize` (from `before` to `head`) or `closed`, from the real
    example."""
    payload = copy.deepcopy(_example("pull_request.synchronize.json"))
    payload["action"] = action
    payload["number"] = number
    payload["repository"] = {**payload["repository"], **_repository(repo)}
    payload["installation"] = _installation(INSTALLATION_ID)
    pr = payload["pull_request"]
    pr["number"] = number
    pr["head"]["sha"] = head
    pr["updated_at"] = updated_at
    if action == "synchronize":
        payload["before"], payload["after"] = before, head
    else:
        payload.pop("before", None)
        payload.pop("after", None)
        pr["state"] = "closed"
        pr["closed_at"] = updated_at
    return payload


def check_run_rerequested(
    repo: str, *, check_run_id: int, external_id: str, head_sha: str, app_id: int = APP_ID
) -> dict[str, Any]:
    return {
        "action": "rerequested",
        "check_run": {
            "id": check_run_id,
            "name": "eval-gate/default",
            "node_id": "MDg6Q2hlY2tSdW4xMjg2MjAyMjg=",
            "head_sha": head_sha,
            "external_id": external_id,
            "status": "completed",
            "conclusion": "success",
            "started_at": "2026-12-07T11:00:00Z",
            "completed_at": "2026-12-07T11:01:00Z",
            "output": {"title": "Passed", "summary": "", "annotations_count": 0},
            "check_suite": {"id": 118578147, "head_sha": head_sha, "status": "queued"},
            "app": _app(app_id),
            "pull_requests": [],
        },
        "repository": _repository(repo),
        "installation": _installation(INSTALLATION_ID),
        "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
    }


def check_suite_rerequested(repo: str, *, head_sha: str, app_id: int = APP_ID) -> dict[str, Any]:
    return {
        "action": "rerequested",
        "check_suite": {
            "id": 118578147,
            "head_sha": head_sha,
            "head_branch": "changes",
            "status": "queued",
            "conclusion": None,
            "app": _app(app_id),
            "pull_requests": [],
        },
        "repository": _repository(repo),
        "installation": _installation(INSTALLATION_ID),
        "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
    }


def installation_deleted(installation_id: int, *repos: str) -> dict[str, Any]:
    return {
        "action": "deleted",
        "installation": {**_installation(installation_id), "app_id": APP_ID},
        "repositories": [
            {"id": 1000 + i, "name": r.split("/")[1], "full_name": r, "private": False}
            for i, r in enumerate(repos)
        ],
        "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
    }


def repositories_removed(installation_id: int, *repos: str) -> dict[str, Any]:
    return {
        "action": "removed",
        "installation": {**_installation(installation_id), "app_id": APP_ID},
        "repository_selection": "selected",
        "repositories_added": [],
        "repositories_removed": [
            {"id": 1000 + i, "name": r.split("/")[1], "full_name": r, "private": False}
            for i, r in enumerate(repos)
        ],
        "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
    }


def delivery(
    event: str, payload: Any, secret: str, *, guid: str | None = None, signature: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery, as GitHub sends it (`signature`: sent instead of
    the right one)."""
    body = json.dumps(payload).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        EVENT_HEADER: event,
        DELIVERY_HEADER: guid or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-ID": str(APP_ID),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        SIGNATURE_HEADER: signature if signature is not None else sign(secret, body),
    }
    return body, headers
