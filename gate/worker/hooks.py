"""What the GitHub App's webhook deliveries do to durable gates: one transaction each.

The delivery's id (`X-GitHub-Delivery`) is recorded in the same transaction as the changes it
causes, so a redelivery (the same id) finds it and changes nothing, and a process killed
before the commit left neither: GitHub (or the reconciler) delivers it again. Concurrent
deliveries of one id: the deliveries' primary key lets exactly one of them through.

- `check_run` `rerequested` on a check run of ours (its `external_id` is a gate of that
  repository): the finished gate runs again (`Transaction.rerun_gate`: the same request, its
  evaluations looked at afresh), keeping its check run and comment;
- `check_suite` `rerequested`: the same for every finished gate with a check run on that
  commit (at most `MAX_RERUNS`);
- `pull_request` `synchronize`: the pushed-over head is recorded as replaced, and the
  unfinished gates on a replaced head are superseded (a gate submitted for one later is
  superseded at its submit: `Worker.submit`);
- `pull_request` `closed`: its unfinished gates are cancelled;
- `installation` `deleted`, `installation_repositories` `removed`: the unfinished gates of
  those repositories end in an error saying so (the App's cached tokens and lookups are
  dropped by the caller, after the commit).

A changed gate is due now: a worker publishes its new state (the check run queued again, or
completed `neutral` / `cancelled` / `failure`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gate.api.body import DEFAULT_MAX_WAIT
from gate.core.errors import ExitCode
from gate.github.webhook import (
    CheckRunRerequested,
    CheckSuiteRerequested,
    Ignored,
    InstallationGone,
    Malformed,
    PullClosed,
    PullSynchronized,
    WebhookEvent,
)
from gate.store import GateRow, Transaction
from gate.store.ids import GATE_ID

if TYPE_CHECKING:
    from gate.worker.runner import Worker

__all__ = ["MAX_RERUNS", "HookOutcome", "apply_event", "max_wait_ms", "relevant"]

MAX_RERUNS = 100  # gates one "Re-run all checks" runs again, at most


@dataclass(frozen=True, slots=True)
class HookOutcome:
    """What one delivery did: `recorded` False for a redelivery (nothing done); the gates it
    changed and how (`rerun`, `superseded`, `cancelled`, `ended`, `none`)."""

    recorded: bool
    what: str = "none"
    gates: tuple[str, ...] = ()


def max_wait_ms(gate: GateRow) -> int:
    """The gate's `max_wait` in milliseconds, from its stored request."""
    request: Any = gate.request
    value = request.get("max_wait") if isinstance(request, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        value = DEFAULT_MAX_WAIT
    return round(value * 1000)


def relevant(event: WebhookEvent, app_id: int | None) -> WebhookEvent:
    """`event`, or `Ignored` when it is about a check run or suite of another App, or a check
    run whose `external_id` is no gate id (`app_id`: ours, None when unknown)."""
    if (
        isinstance(event, CheckRunRerequested | CheckSuiteRerequested)
        and app_id is not None
        and event.app_id is not None
        and event.app_id != app_id
    ):
        return Ignored("a check of another App")
    if isinstance(event, CheckRunRerequested) and not GATE_ID.fullmatch(event.external_id):
        return Ignored("a check run that is not a gate's")
    return event


def _same_repository(gate: GateRow, repository: str) -> bool:
    return gate.repository is not None and gate.repository.lower() == repository.lower()


async def _rerun(tx: Transaction, gate: GateRow, now: int) -> bool:
    if not gate.finished:
        return False  # it is running: its check run will be completed anyway
    again = await tx.rerun_gate(gate.id, now, max_wait_ms(gate))
    if again is None or again.finished:
        return False
    await tx.poll_soon([w.key for w in await tx.watches_of(gate.id)], now)
    return True


async def _check_run(tx: Transaction, event: CheckRunRerequested, now: int) -> list[str]:
    gate = await tx.gate(event.external_id)
    if gate is None or not _same_repository(gate, event.repository):
        return []
    if gate.check_run_id not in (None, event.check_run_id):
        return []
    return [gate.id] if await _rerun(tx, gate, now) else []


async def _check_suite(tx: Transaction, event: CheckSuiteRerequested, now: int) -> list[str]:
    found = await tx.gates_of_commit(event.repository, event.head_sha, MAX_RERUNS)
    return [g.id for g in found if g.check_run_id is not None and await _rerun(tx, g, now)]


def _gone_error(event: InstallationGone) -> str:
    if event.whole:
        return (
            f"the GitHub App was uninstalled (installation {event.installation_id} deleted): "
            "eval-gate can no longer post this gate's results; install the App again and "
            "submit the gate again"
        )
    return (
        f"this repository was removed from the GitHub App's installation "
        f"{event.installation_id}: eval-gate can no longer post this gate's results; add it "
        "to the installation again and submit the gate again"
    )


async def _apply(tx: Transaction, event: WebhookEvent, now: int) -> HookOutcome:
    if isinstance(event, CheckRunRerequested):
        rerun = await _check_run(tx, event, now)
        return HookOutcome(recorded=True, what="rerun", gates=tuple(rerun))
    if isinstance(event, CheckSuiteRerequested):
        rerun = await _check_suite(tx, event, now)
        return HookOutcome(recorded=True, what="rerun", gates=tuple(rerun))
    if isinstance(event, PullSynchronized):
        head = await tx.note_pull_head(
            event.repository,
            event.number,
            before=event.before,
            after=event.after,
            at=event.at_ms,
            now=now,
        )
        ended = await tx.supersede_replaced(event.repository, event.number, now, head=head)
        return HookOutcome(recorded=True, what="superseded", gates=tuple(ended))
    if isinstance(event, PullClosed):
        why = f"cancelled: pull request #{event.number} was closed before a verdict"
        ended = await tx.cancel_pull(event.repository, event.number, now, why)
        return HookOutcome(recorded=True, what="cancelled", gates=tuple(ended))
    if isinstance(event, InstallationGone):
        ended = await tx.end_gates_of(
            event.repositories,
            event.installation_id if event.whole else None,
            now,
            error=_gone_error(event),
            exit_code=int(ExitCode.UNAVAILABLE),
        )
        return HookOutcome(recorded=True, what="ended", gates=tuple(ended))
    raise TypeError(f"not an event to apply: {type(event).__name__}")


async def apply_event(
    worker: Worker, guid: str, name: str, action: str | None, event: WebhookEvent
) -> HookOutcome:
    """Record delivery `guid` (`name`, `action`) and apply `event` in one transaction; a
    redelivery changes nothing (`recorded` False). Wakes the worker for the gates changed."""
    if isinstance(event, Ignored | Malformed):
        raise TypeError("an ignored or malformed event is not applied")
    now = worker.clock()
    async with worker.store.transaction() as tx:
        if not await tx.record_delivery(guid, name, action, now):
            return HookOutcome(recorded=False)
        outcome = await _apply(tx, event, now)
    if outcome.gates:
        worker.wake()
    return outcome
