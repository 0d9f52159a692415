"""A durable gate as the API shows it: the documents of `POST /v1/gates` (`submitted_document`),
`GET /v1/gates/{id}` (`gate_document`, also the body of its callback) and each item of
`GET /v1/gates` (`summary_document`), from a stored gate; and the headline number of an
outcome that the history shows (`headline`).

Pure: a stored gate in (anything shaped like `gate.store.GateRow`: `StoredGate`), JSON-ready
dicts out. Times are the store's integer milliseconds since the epoch, shown as ISO 8601 UTC
with milliseconds (`2026-01-01T12:00:00.000Z`). A stored request holds no secret (durable gates
refuse per-request tokens and keys, and the store refuses to keep one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

from gate.core.outcome import GateOutcome

__all__ = [
    "GATES_PATH",
    "StoredGate",
    "gate_document",
    "gate_url",
    "headline",
    "iso_time",
    "submitted_document",
    "summary_document",
]

GATES_PATH = "/v1/gates"


class StoredGate(Protocol):
    """What the documents read of a stored gate (`gate.store.GateRow` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> int: ...
    @property
    def updated_at(self) -> int: ...
    @property
    def finished_at(self) -> int | None: ...
    @property
    def deadline_at(self) -> int: ...
    @property
    def request(self) -> Any: ...
    @property
    def repository(self) -> str | None: ...
    @property
    def pull_number(self) -> int | None: ...
    @property
    def sha(self) -> str | None: ...
    @property
    def gate_name(self) -> str | None: ...
    @property
    def waiting_for(self) -> Any: ...
    @property
    def verdict(self) -> str | None: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def headline(self) -> Any: ...
    @property
    def result(self) -> Any: ...
    @property
    def error(self) -> str | None: ...
    @property
    def check_run_id(self) -> int | None: ...
    @property
    def comment_id(self) -> int | None: ...
    @property
    def callback_url(self) -> str | None: ...
    @property
    def callback_state(self) -> str | None: ...
    @property
    def callback_attempts(self) -> int: ...
    @property
    def callback_delivery(self) -> str | None: ...


def iso_time(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else iso_time(ms)


def gate_url(base_url: str, gate_id: str) -> str:
    """The gate's URL under `base_url` (the server's public URL, no trailing slash)."""
    return f"{base_url.rstrip('/')}{GATES_PATH}/{quote(gate_id, safe='')}"


def submitted_document(gate: StoredGate, base_url: str) -> dict[str, Any]:
    """`POST /v1/gates`'s answer: the gate's id, status and URL."""
    return {"id": gate.id, "status": gate.status, "url": gate_url(base_url, gate.id)}


def _finished(gate: StoredGate) -> bool:
    return gate.status not in ("queued", "waiting")


def summary_document(gate: StoredGate, base_url: str) -> dict[str, Any]:
    """One gate of `GET /v1/gates`: what a history row shows."""
    return {
        "id": gate.id,
        "url": gate_url(base_url, gate.id),
        "status": gate.status,
        "created_at": iso_time(gate.created_at),
        "updated_at": iso_time(gate.updated_at),
        "finished_at": _iso_or_none(gate.finished_at),
        "repository": gate.repository,
        "pull_number": gate.pull_number,
        "sha": gate.sha,
        "gate_name": gate.gate_name,
        "verdict": gate.verdict,
        "exit_code": gate.exit_code,
        "headline": gate.headline,
        "error": gate.error,
    }


def gate_document(gate: StoredGate, base_url: str) -> dict[str, Any]:
    """`GET /v1/gates/{id}`'s answer, and the body of the gate's callback."""
    url = gate_url(base_url, gate.id)
    github = None
    if gate.repository is not None:
        github = {
            "repository": gate.repository,
            "pull_number": gate.pull_number,
            "sha": gate.sha,
            "check_run_id": gate.check_run_id,
            "comment_id": gate.comment_id,
        }
    callback = None
    if gate.callback_url is not None:
        callback = {
            "state": gate.callback_state,
            "attempts": gate.callback_attempts,
            "delivery": gate.callback_delivery,
        }
    return {
        "id": gate.id,
        "url": url,
        "status": gate.status,
        "created_at": iso_time(gate.created_at),
        "updated_at": iso_time(gate.updated_at),
        "finished_at": _iso_or_none(gate.finished_at),
        "deadline_at": iso_time(gate.deadline_at),
        "request": gate.request,
        "waiting_for": None if _finished(gate) else gate.waiting_for,
        "verdict": gate.verdict,
        "exit_code": gate.exit_code,
        "headline": gate.headline,
        "result": gate.result,
        "error": gate.error,
        "report_url": f"{url}/report" if _finished(gate) else None,
        "github": github,
        "callback": callback,
    }


def headline(outcome: GateOutcome) -> dict[str, Any] | None:
    """The number a history row shows for a gate: the first evaluation's headline metric on
    test (its trend's: mAP@50:95, or mIoU) against its baseline's, else its first check with a
    value; None when there is neither."""
    for evaluated in outcome.evals:
        trend = evaluated.trend
        candidate = trend.candidate if trend is not None else None
        if trend is not None and candidate is not None:
            base = next((p for p in trend.points if p.role.value == "baseline"), None)
            value, baseline = candidate.value, base.value if base is not None else None
            return {
                "eval": evaluated.eval_id,
                "metric": trend.metric,
                "split": "test",
                "value": value,
                "baseline": baseline,
                "delta": None if baseline is None else value - baseline,
            }
        for check in evaluated.checks:
            if check.actual is not None:
                delta = None if check.baseline is None else check.actual - check.baseline
                return {
                    "eval": evaluated.eval_id,
                    "metric": check.metric,
                    "split": check.split,
                    "value": check.actual,
                    "baseline": check.baseline,
                    "delta": delta,
                }
    return None
