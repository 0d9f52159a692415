"""GitHub webhook deliveries to the App, as pure functions (sans-I/O): the signature and what an
event asks of the service.

    if not verify_signature(secret, body, headers.get(SIGNATURE_HEADER)):   # before parsing
        ... 401
    event = parse_event(headers[EVENT_HEADER], json.loads(body))

`verify_signature` compares `X-Hub-Signature-256` (`sha256=<hex HMAC-SHA256 of the raw body>`)
in constant time (`hmac.compare_digest`). `parse_event` turns the events a gate uses into small
frozen values and everything else into `Ignored`; a payload that lacks what its event must
carry is `Malformed` (one line, quoting no value). Only fields the service needs are read;
lists (an installation's repositories) are bounded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MAX_REPOSITORIES",
    "SIGNATURE_HEADER",
    "CheckRunRerequested",
    "CheckSuiteRerequested",
    "Ignored",
    "InstallationGone",
    "Malformed",
    "PullClosed",
    "PullSynchronized",
    "WebhookEvent",
    "parse_event",
    "sign",
    "valid_delivery_id",
    "valid_event_name",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
MAX_REPOSITORIES = 10_000  # repositories read from one installation event
_SHA = re.compile(r"[0-9a-f]{40}")
_DELIVERY = re.compile(r"[A-Za-z0-9-]{1,64}")
_EVENT = re.compile(r"[a-z_]{1,64}")
_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_HEX = re.compile(r"[0-9a-f]{64}")


def sign(secret: str | bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends with `body` (tests, benches, tools)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is the HMAC-SHA256 of the raw `body` with `secret` (constant time)."""
    if header is None:
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme != "sha256" or not _HEX.fullmatch(digest):
        return False
    return hmac.compare_digest(sign(secret, body), f"sha256={digest}")


def valid_delivery_id(value: str | None) -> bool:
    """A usable `X-GitHub-Delivery`: a GUID (letters, digits, '-'), at most 64 characters."""
    return value is not None and bool(_DELIVERY.fullmatch(value))


def valid_event_name(value: str | None) -> bool:
    return value is not None and bool(_EVENT.fullmatch(value))


@dataclass(frozen=True, slots=True)
class Ignored:
    """An event or action the service does nothing for (204)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """A signed payload without what its event must carry (400; one line, no value quoted)."""

    reason: str


@dataclass(frozen=True, slots=True)
class CheckRunRerequested:
    """Someone pressed "Re-run" on a check run: ours when `app_id` is our App's and
    `external_id` one of our gates."""

    repository: str
    check_run_id: int
    external_id: str
    app_id: int | None
    head_sha: str


@dataclass(frozen=True, slots=True)
class CheckSuiteRerequested:
    """ "Re-run all checks" of a commit's suite (`app_id`: the suite's App)."""

    repository: str
    head_sha: str
    app_id: int | None


@dataclass(frozen=True, slots=True)
class PullSynchronized:
    """A pull request's head moved from `before` to `after` (`at_ms`: its `updated_at`)."""

    repository: str
    number: int
    before: str | None
    after: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class PullClosed:
    """A pull request was closed (merged or not)."""

    repository: str
    number: int


@dataclass(frozen=True, slots=True)
class InstallationGone:
    """The App lost repositories: `installation` `deleted` (`whole`: every repository of the
    installation) or `installation_repositories` `removed` (`repositories` only)."""

    installation_id: int
    repositories: tuple[str, ...]
    whole: bool


WebhookEvent = (
    CheckRunRerequested
    | CheckSuiteRerequested
    | PullSynchronized
    | PullClosed
    | InstallationGone
    | Ignored
    | Malformed
)


class _Missing(Exception):
    pass


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            raise _Missing(".".join(path))
        data = data[key]
    return data


def _int(data: Any, *path: str) -> int:
    value = _get(data, *path)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Missing(".".join(path))
    return value


def _optional_int(data: Any, *path: str) -> int | None:
    try:
        return _int(data, *path)
    except _Missing:
        return None


def _sha(data: Any, *path: str) -> str:
    value = _get(data, *path)
    if not isinstance(value, str) or not _SHA.fullmatch(value.lower()):
        raise _Missing(".".join(path))
    return value.lower()


def _repository(data: Any) -> str:
    value = _get(data, "repository", "full_name")
    if not isinstance(value, str) or not _REPO.fullmatch(value):
        raise _Missing("repository.full_name")
    return value


def _time_ms(data: Any, *path: str) -> int:
    value = _get(data, *path)
    if not isinstance(value, str) or len(value) > 40:
        raise _Missing(".".join(path))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Missing(".".join(path)) from None
    if moment.tzinfo is None:
        raise _Missing(".".join(path))
    return int(moment.timestamp() * 1000)


def _repositories(data: Any, key: str) -> tuple[str, ...]:
    items = data.get(key) if isinstance(data, Mapping) else None
    if items is None:
        return ()
    if not isinstance(items, list):
        raise _Missing(key)
    found: list[str] = []
    for item in items[:MAX_REPOSITORIES]:
        name = item.get("full_name") if isinstance(item, Mapping) else None
        if isinstance(name, str) and _REPO.fullmatch(name):
            found.append(name)
    return tuple(found)


def _check_run(payload: Any) -> WebhookEvent:
    external = _get(payload, "check_run", "external_id")
    if not isinstance(external, str) or not external or len(external) > 64:
        return Ignored("a check run without an external id is not a gate's")
    return CheckRunRerequested(
        repository=_repository(payload),
        check_run_id=_int(payload, "check_run", "id"),
        external_id=external,
        app_id=_optional_int(payload, "check_run", "app", "id"),
        head_sha=_sha(payload, "check_run", "head_sha"),
    )


def _pull_request(action: str, payload: Any) -> WebhookEvent:
    repository = _repository(payload)
    number = _int(payload, "number")
    if action == "closed":
        return PullClosed(repository, number)
    before = payload.get("before")
    return PullSynchronized(
        repository=repository,
        number=number,
        before=before.lower() if isinstance(before, str) and _SHA.fullmatch(before) else None,
        after=_sha(payload, "pull_request", "head", "sha"),
        at_ms=_time_ms(payload, "pull_request", "updated_at"),
    )


_HANDLED = {
    ("check_run", "rerequested"),
    ("check_suite", "rerequested"),
    ("pull_request", "synchronize"),
    ("pull_request", "closed"),
    ("installation", "deleted"),
    ("installation_repositories", "removed"),
}


def parse_event(event: str, payload: Any) -> WebhookEvent:
    """What the delivery of `event` with `payload` (decoded JSON) asks of the service."""
    action = payload.get("action") if isinstance(payload, Mapping) else None
    if (event, action) not in _HANDLED:
        shown = f"{event} {action}" if isinstance(action, str) and action.isidentifier() else event
        return Ignored(f"eval-gate does nothing on {shown[:80]}")
    try:
        if event == "check_run":
            return _check_run(payload)
        if event == "check_suite":
            return CheckSuiteRerequested(
                repository=_repository(payload),
                head_sha=_sha(payload, "check_suite", "head_sha"),
                app_id=_optional_int(payload, "check_suite", "app", "id"),
            )
        if event == "pull_request":
            return _pull_request(str(action), payload)
        installation = _int(payload, "installation", "id")
        if event == "installation":
            return InstallationGone(
                installation, _repositories(payload, "repositories"), whole=True
            )
        return InstallationGone(
            installation, _repositories(payload, "repositories_removed"), whole=False
        )
    except _Missing as missing:
        return Malformed(f"the {event} {action} payload has no usable {missing}")
