"""One look at a watched evaluation, and what a gate waiting on it is told.

Polling is per evaluation, not per gate: a watch is an evaluation by id, or the newest
evaluation of a model or dataset version, in a workspace. `look` asks Roboflow about it once
(its info by id; the list of the model's or version's evaluations otherwise) and says what it
saw (`Look`). A watch is settled when waiting on it longer cannot change a verdict: `done`,
`failed`, or `error` (Roboflow refused: the engine, run next, says why in its own words).
Until then it is `unknown` (never looked at), `absent` (no evaluation of that model or version
yet) or `running`. A look that failed on the way (the network, a 5xx or 429 after retries, our
deadline) changes nothing but its detail: the watch is looked at again next interval.

`describe` words what a gate waits for, one line a watch, for its check run and document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from gate.core.errors import ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery, newest, once_each
from gate.core.text import one_line
from gate.fetch import ResultsSource
from gate.http.errors import HttpError
from gate.roboflow.api import DeadlineExceeded

__all__ = ["RUNNING", "SETTLED", "Look", "Watched", "describe", "look", "settled"]

SETTLED = frozenset({"done", "failed", "error"})
RUNNING = frozenset({"running", "pending", "queued", "created", "in_progress", "started"})
DETAIL_MAX = 200


class Watched(Protocol):
    """What `look` and `describe` read of a watch (`gate.store.WatchRow` is one)."""

    @property
    def by(self) -> str: ...
    @property
    def ref(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def eval_id(self) -> str | None: ...
    @property
    def detail(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Look:
    """What one look saw: the watch's new status and evaluation, a line of detail, whether the
    look itself failed on the way (then the status is the one before), and Roboflow's answer
    (the evaluation's info, or the list its newest was picked from: gate.worker.seen)."""

    status: str
    eval_id: str | None
    detail: str | None = None
    failed: bool = False
    answer: tuple[EvalInfo, ...] = ()


def settled(status: str) -> bool:
    return status in SETTLED


def _status_of(info: EvalInfo) -> str:
    if info.status == "done":
        return "done"
    if info.status in RUNNING:
        return "running"
    return "failed"  # failed, cancelled, or a status we do not know: nothing to wait for


def _transient(error: BaseException) -> bool:
    if isinstance(error, DeadlineExceeded | TimeoutError):
        return True
    return isinstance(error, HttpError) and error.retryable


async def look(by: str, ref: str, source: ResultsSource, *, before: Watched) -> Look:
    """Ask `source` once about the watched evaluation (by id, or the newest of a model or
    dataset version). Never raises for what Roboflow or the network does."""
    try:
        if by == "id":
            info = await source.eval_info(ref)
            return Look(_status_of(info), info.eval_id, answer=(info,))
        listed = once_each(await source.list_evals(EvalQuery.of(by, ref)))
        found = newest(e for e in listed if e.is_of(by, ref))
        if found is None:
            return Look("absent", None)
        return Look(_status_of(found), found.eval_id, answer=tuple(listed))
    except (ResultsUnavailable, HttpError, TimeoutError) as error:
        detail = one_line(str(error) or type(error).__name__, limit=DETAIL_MAX)
        if _transient(error):
            return Look(before.status, before.eval_id, detail, failed=True)
        return Look("error", before.eval_id, detail)


def _what(watch: Watched) -> str:
    if watch.by == "id":
        return f"evaluation {watch.ref}"
    return f"the newest evaluation of {watch.by} {watch.ref}"


def describe(watches: Iterable[Watched]) -> list[str]:
    """What a gate waits for, one line a watch not settled (in the order given)."""
    lines = []
    for watch in watches:
        if settled(watch.status):
            continue
        what = _what(watch)
        if watch.status == "absent":
            state = "none yet"
        elif watch.status == "running":
            state = "running" if watch.by == "id" else f"eval {watch.eval_id}, running"
        else:
            state = "not looked at yet"
        line = f"{what} ({state})"
        if watch.detail:
            line += f"; last look: {watch.detail}"
        lines.append(one_line(line, limit=2 * DETAIL_MAX))
    return lines
