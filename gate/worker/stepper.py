"""One step of one durable gate: the state machine, under the worker's lease.

    queued/waiting ──(now past deadline)──────────────────────────► timed_out
          │ some watch not settled ──► waiting (until a watch changes, or the deadline)
          │ every watch settled ──► the engine, wait 0:
          │     outcome ──────────────────────────────────────────► done
          │     still running after all (a race) ──► waiting, its watches polled again
          │     transient (network, 5xx, 429, our deadline) ──► retried with backoff
          │     permanent (404, 401, failed evaluation, config) ──► error
    finished ──► only effects left: GitHub (gate.worker.effects), then the callback

Every change is a fenced update (`Transaction.update_gate`): it applies only while this
worker holds the gate's lease. One that does not apply (`LeaseLost`) ends the step at once:
another worker has the gate (the lease expired, or the gate was cancelled), and nothing more
is done for it here. A state that GitHub must see bumps the gate's `version`; the effects are
applied after the state is committed, and `published_version` says up to which version they
are; effects are idempotent, so a step that dies half-way is simply done again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from gate.api.answer import decide_document
from gate.api.body import WORDS, DurableCall, GitHubPart, parse_durable_call
from gate.api.errors import ApiError
from gate.api.gates import gate_document, gate_url, headline
from gate.api.stopping import StopFlag, WorkStopped
from gate.core.errors import (
    ExitCode,
    GateError,
    NoEvalAppeared,
    ResultsUnavailable,
    StillRunning,
)
from gate.core.redact import redact, redact_line
from gate.core.text import one_line
from gate.engine import gather_inputs
from gate.fetch import FetchOptions
from gate.github.api import GitHubError
from gate.github.connection import GitHubConnection
from gate.http.errors import HttpError
from gate.report.no_verdict import crash_report, error_report, stopped_report
from gate.roboflow.api import DeadlineExceeded
from gate.store import GateRow, WatchRow
from gate.store.values import canonical_json
from gate.worker.callback import callback_body
from gate.worker.effects import publish
from gate.worker.texts import result_decision
from gate.worker.watching import describe, settled

if TYPE_CHECKING:
    from gate.worker.runner import Worker

__all__ = ["LeaseLost", "step_gate", "watch_specs"]

_log = structlog.get_logger("gate.worker.step")
ERROR_MAX = 500  # characters of a gate's error line


class LeaseLost(Exception):
    """This worker no longer holds the gate: stop, do nothing more for it."""


def _accept_any(url: str) -> str:
    """A stored callback URL was checked at submit; the delivery checks it again."""
    return url


def parse_stored(gate: GateRow, worker: Worker) -> DurableCall:
    """The gate's stored request, validated again by this server's rules (ApiError if it no
    longer passes them: the gate then ends in that error)."""
    return parse_durable_call(
        gate.request, max_checks=worker.settings.limits.max_checks, check_callback=_accept_any
    )


def watch_specs(durable: DurableCall, workspace: str) -> list[tuple[str, str, str]]:
    """What a gate waits for: each evaluation it gates (by id, model or version) and each
    baseline named by id, in its workspace, as (workspace, by, ref)."""
    from gate.core.model import AUTO, BASE, CHAMPION  # noqa: PLC0415 - tiny, pure

    found: dict[tuple[str, str, str], None] = {}
    for spec in durable.call.targets:
        found[(workspace, spec.by.value, spec.id)] = None
        if spec.baseline is not None and spec.baseline not in (AUTO, CHAMPION, BASE):
            found[(workspace, "id", spec.baseline)] = None
    return list(found)


@dataclass(frozen=True, slots=True)
class _Ran:
    """What running the engine came to: exactly one of the fields is set."""

    decided: Any = None  # gate.api.answer.Decided
    waiting: str | None = None  # a race: an evaluation is not done after all
    transient: str | None = None
    error: GateError | ApiError | None = None


class _Step:
    def __init__(self, worker: Worker, gate: GateRow) -> None:
        self.worker = worker
        self.gate = gate
        # when the gate was last written before this step (submitted, put to sleep, re-run):
        # what a look saw after it is news to the gate (gate.worker.seen)
        self.since = gate.updated_at
        self.log = _log.bind(gate_id=gate.id)

    @property
    def now(self) -> int:
        return self.worker.clock()

    async def update(self, *, release: bool = False, **changes: Any) -> None:
        """A fenced update of the gate; `LeaseLost` when this worker no longer holds it."""
        now = self.now
        async with self.worker.store.transaction() as tx:
            applied = await tx.update_gate(
                self.gate.id, self.worker.owner, now, release=release, **changes
            )
        if not applied:
            self.log.info("worker.lease_lost")
            raise LeaseLost(self.gate.id)
        values = {"updated_at": now, **changes}
        if release:
            values.update(lease_owner=None, lease_until=None)
        self.gate = dataclasses.replace(self.gate, **values)

    async def remember(self, **ids: Any) -> None:
        await self.update(**ids)

    # --------------------------------------------------------------- the state machine

    async def held(self) -> GateRow:
        """The gate as stored now, while this worker still holds it (`LeaseLost` otherwise: a
        worker paused since its claim must not touch GitHub for a gate another took over)."""
        async with self.worker.store.read() as tx:
            gate = await tx.gate(self.gate.id)
        if (
            gate is None
            or gate.lease_owner != self.worker.owner
            or (gate.lease_until or 0) <= self.now
        ):
            self.log.info("worker.lease_lost")
            raise LeaseLost(self.gate.id)
        return gate

    async def run(self) -> None:
        # The gate as claimed: it is re-read (`held`) only before GitHub is touched; every other
        # change is a fenced update, which does nothing once the lease is lost or the gate
        # cancelled (a read less for each of the many gates a settled watch wakes).
        gate = self.gate
        if gate.finished:
            gate = self.gate = await self.held()
            if gate.report is None:
                await self.ended()
            await self.effects_then_release()
            return
        try:
            durable = parse_stored(gate, self.worker)
        except ApiError as refused:
            await self.finish("error", error=refused.message, exit_code=ExitCode.USAGE)
            return
        part = durable.call.github
        if gate.check_run_id is None and part is not None and part.check_run:
            gate = self.gate = await self.held()
            await self.publish(part, create_only=True)  # the check run appears, queued, at once
        elif self.rerun_starting() and part is not None and part.check_run:
            # A re-run ("Re-run" on its check run): that check run goes back to queued, then
            # in progress while the evaluations are looked at again, then completed.
            gate = self.gate = await self.held()  # still ours before GitHub is touched
            await self.publish(part, phase="queued")
            await self.publish(part, phase="in_progress")
        if self.now >= gate.deadline_at:
            await self.time_out(durable)
            return
        watches = await self.wait_if_not_settled()
        if watches is None:
            await self.effects_then_release(durable)
            return
        ran = await run_engine(self.worker, self, durable)
        await self.conclude(durable, ran, watches)

    async def wait_if_not_settled(self) -> list[WatchRow] | None:
        """Read the gate's watches; if one is not settled, put the gate to sleep until its
        deadline (a watch that changes wakes it) and say None; else the watches. The read and
        the sleep are one transaction, the watches held: a poll recording a change waits for it
        and then wakes the gate, so no change falls between the two."""
        gate, now = self.gate, self.now
        async with self.worker.store.transaction() as tx:
            watches = await tx.watches_of(gate.id, lock=True)
            if all(settled(w.status) for w in watches):
                return watches
            lines = describe(watches)
            changed = (gate.status, gate.waiting_for) != ("waiting", lines)
            changes: dict[str, Any] = {
                "status": "waiting",
                "waiting_for": lines,
                "next_run_at": gate.deadline_at,
                "attempts": 0,
                "version": gate.version + int(changed),
            }
            applied = await tx.update_gate(gate.id, self.worker.owner, now, **changes)
        if not applied:
            self.log.info("worker.lease_lost")
            raise LeaseLost(gate.id)
        self.gate = dataclasses.replace(gate, updated_at=now, **changes)
        return None

    async def conclude(self, durable: DurableCall, ran: _Ran, watches: Sequence[WatchRow]) -> None:
        gate = self.gate
        if ran.decided is not None:
            decided = ran.decided
            secrets = self.worker.secrets
            document = json.loads(redact(json.dumps(decided.document), secrets))
            await self.finish(
                "done",
                result=document,
                report=redact(decided.report, secrets),
                verdict=decided.verdict,
                exit_code=decided.exit_code,
                headline=headline(decided.outcome),
                durable=durable,
            )
            return
        if ran.waiting is not None:
            # The engine found an evaluation not done after all (a newer one of a model, a
            # baseline): look at the watches again soon, and step again when one changes.
            now = self.now
            async with self.worker.store.transaction() as tx:
                await tx.poll_soon([w.key for w in watches], now)
            lines = describe(watches) or [ran.waiting]
            recheck = now + max(60_000, 4 * self.worker.settings.poll_interval_ms)
            await self.update(
                status="waiting",
                waiting_for=lines,
                next_run_at=min(gate.deadline_at, recheck),
                version=gate.version + int((gate.status, gate.waiting_for) != ("waiting", lines)),
            )
            self.worker.wake()
            await self.effects_then_release(durable)
            return
        if ran.transient is not None:
            attempts = gate.attempts + 1
            wait = min(300_000, self.worker.settings.poll_interval_ms * 2 ** min(attempts, 10))
            self.log.warning("worker.transient", reason=ran.transient, attempts=attempts)
            await self.update(
                release=True,
                attempts=attempts,
                next_run_at=min(gate.deadline_at, self.now + wait),
            )
            return
        assert ran.error is not None
        error = ran.error
        if isinstance(error, ApiError):
            code = ExitCode.USAGE if error.status == 400 else ExitCode.UNAVAILABLE
            await self.finish("error", error=error.message, exit_code=code, durable=durable)
            return
        worded = error.worded(WORDS)
        report = error_report(worded, durable.call.title, self.worker.secrets)
        await self.finish(
            "error",
            error=str(worded),
            exit_code=worded.exit_code,
            report=report,
            durable=durable,
        )

    async def time_out(self, durable: DurableCall) -> None:
        lines = [str(x) for x in self.gate.waiting_for or []]
        waited = (self.gate.deadline_at - self.gate.created_at) / 1000
        why = (
            f"The gate waited {waited:,.0f} s (max_wait) and an evaluation was still not done; "
            "there is no verdict. Submit the gate again once the evaluations are done, or with "
            "a longer max_wait."
        )
        await self.finish(
            "timed_out",
            error=f"timed out after waiting {waited:,.0f} s (max_wait) for: "
            + ("; ".join(lines) or "the evaluations"),
            exit_code=ExitCode.UNAVAILABLE,
            report=stopped_report(durable.call.title, "timed out", lines, why=why),
            durable=durable,
        )

    def rerun_starting(self) -> bool:
        """Whether this is the first step of a re-run whose check run exists: queued again,
        its new state not yet published."""
        gate = self.gate
        return (
            gate.runs > 1
            and gate.status == "queued"
            and gate.check_run_id is not None
            and gate.version > gate.published_version
        )

    async def ended(self) -> None:
        """A gate ended from outside a step (`DELETE`, a webhook: its pull request closed or
        pushed to, the App uninstalled): its report and error say so."""
        gate = self.gate
        try:
            title = parse_stored(gate, self.worker).call.title
        except ApiError:
            title = "eval-gate"
        if gate.status == "superseded":
            short = (gate.superseded_by or "")[:7] or "a newer commit"
            why = (
                f"A newer commit ({short}) was pushed to the pull request before this gate's "
                "evaluations were done: the gate of that commit gives the verdict."
            )
            error = f"superseded by {short}"
            report = stopped_report(title, "superseded", [], why=why)
        elif gate.status == "cancelled":
            why = "The gate was cancelled before its evaluations were done: there is no verdict."
            error = gate.error or "cancelled before a verdict"
            report = stopped_report(title, "cancelled", [], why=why)
        else:
            error = gate.error or f"the gate ended ({gate.status}) without a verdict"
            report = crash_report(title, redact_line(error, self.worker.secrets, limit=ERROR_MAX))
        await self.update(error=error, exit_code=ExitCode.UNAVAILABLE, report=report)

    async def finish(
        self,
        status: str,
        *,
        error: str | None = None,
        durable: DurableCall | None = None,
        **changes: Any,
    ) -> None:
        """The gate ends in `status`: committed (the lease kept), then its effects."""
        if error is not None:
            error = redact_line(error, self.worker.secrets, limit=ERROR_MAX)
            if "report" not in changes:
                title = durable.call.title if durable is not None else "eval-gate"
                changes["report"] = crash_report(title, error)
        self.log.info("worker.finished", status=status, verdict=changes.get("verdict"))
        await self.update(
            status=status,
            error=error,
            finished_at=self.now,
            waiting_for=None,
            attempts=0,  # from here on, it counts the effects' tries
            version=self.gate.version + 1,
            **changes,
        )
        await self.effects_then_release(durable)

    # --------------------------------------------------------------- effects

    async def publish(
        self, part: GitHubPart, *, create_only: bool = False, phase: str | None = None
    ) -> bool:
        """The gate's GitHub effects for its state now (`create_only`: its check run, made
        if need be; `phase`: only its check run, shown `queued` or `in_progress`); whether to
        try again later."""
        gate, worker = self.gate, self.worker
        credentials = worker.settings.github
        if credentials is None:
            self.log.warning("worker.no_github_credentials", repository=part.repository)
            return False
        try:
            token = await credentials.token_for(part.repository)
            author = await credentials.comment_author(part.repository)
        except GitHubError as error:
            self.log.warning(
                "worker.github_credentials_failed",
                repository=part.repository,
                reason=redact_line(str(error), worker.secrets, limit=300),
            )
            return bool(error.retryable) or error.status is None
        await self.remember_installation(credentials, part.repository)
        base = worker.settings.base_url
        url = gate_url(base, gate.id) if base else None
        passing = True
        if gate.status == "done":
            decided = result_decision(gate.result)
            passing = decided is not None and decided[0].passed
        elif gate.status in ("error", "timed_out"):
            passing = False
        connection = GitHubConnection(
            token=token,
            api_url=worker.settings.github_api_url,
            transport=worker.github_transport,
            author=author,
        )
        published = await publish(
            gate,
            part,
            connection.client(),
            remember=self.remember,
            details_url=url,
            report_url=f"{url}/report" if url else None,
            passing=passing,
            author=author,
            secrets=(*worker.secrets, token),
            create_only=create_only,
            phase=phase,
        )
        if published.refused:
            credentials.token_refused(part.repository, token)  # a fresh one next time
        return published.retry

    async def remember_installation(self, credentials: Any, repository: str) -> None:
        """As a GitHub App: store the installation the gate's repository is in (known once a
        token was had), so that the installation's `deleted` webhook finds the gate."""
        if self.gate.installation_id is not None:
            return
        lookup = getattr(credentials, "installation_id", None)
        if lookup is None:
            return
        try:
            installation = await lookup(repository)
        except GitHubError:
            return
        if isinstance(installation, int):
            await self.update(installation_id=installation)

    async def effects_then_release(self, durable: DurableCall | None = None) -> None:
        """Bring GitHub and the callback to the gate's state, then end the step: released,
        due again when an effect must be retried (or the callback is due)."""
        gate = self.gate
        retry = False
        if gate.version > gate.published_version:
            if durable is None:
                try:
                    durable = parse_stored(gate, self.worker)
                except ApiError:
                    durable = None
            part = durable.call.github if durable is not None else None
            if part is not None:
                retry = await self.publish(part)
        changes: dict[str, Any] = {}
        if retry and gate.attempts + 1 < self.worker.settings.max_effect_attempts:
            wait = min(
                self.worker.settings.effect_backoff_cap_ms, 2_000 * 2 ** min(gate.attempts, 16)
            )
            due = self.now + wait
            changes.update(attempts=gate.attempts + 1)
            if not gate.finished:
                due = min(due, gate.next_run_at or due)
            changes["next_run_at"] = due
        else:
            if retry:
                self.log.warning("worker.effects_given_up", attempts=gate.attempts + 1)
            changes["published_version"] = gate.version
            if gate.finished:
                changes["attempts"] = 0
                changes["next_run_at"] = await self.callback()
        await self.update(release=True, **changes)

    async def callback(self) -> int | None:
        """Deliver the finished gate's callback if one is due; when it is due next (None:
        nothing left to do)."""
        gate, worker = self.gate, self.worker
        if gate.callback_url is None or gate.callback_state != "pending":
            return None
        if gate.callback_next_at is not None and gate.callback_next_at > self.now:
            return gate.callback_next_at
        sender = worker.callbacks
        if sender is None or gate.callback_delivery is None:
            await self.update(callback_state="failed")
            self.log.error("worker.callback_off", reason="this server sends no callbacks")
            return None
        # The document as the gate was when it finished: the same bytes on every attempt.
        as_finished = dataclasses.replace(
            gate,
            updated_at=gate.finished_at or gate.updated_at,
            callback_state="pending",
            callback_attempts=0,
        )
        # Keys sorted, as the store keeps documents: the bytes do not depend on which step sends.
        document = json.loads(canonical_json(gate_document(as_finished, worker.settings.base_url)))
        outcome = await sender(
            gate.callback_url,
            callback_body(document),
            delivery=gate.callback_delivery,
            attempt=gate.callback_attempts + 1,
            first_at=gate.finished_at or self.now,
        )
        await self.update(
            callback_state=outcome.state,
            callback_attempts=outcome.attempts,
            callback_next_at=outcome.next_at,
        )
        return outcome.next_at if outcome.state == "pending" else None


def _transient(error: BaseException) -> bool:
    if isinstance(error, DeadlineExceeded | TimeoutError | WorkStopped):
        return True
    return isinstance(error, HttpError) and error.retryable


async def run_engine(worker: Worker, step: _Step, durable: DurableCall) -> _Ran:
    """Fetch (wait 0: the watches said the evaluations are done) and decide, within the
    engine's deadline, on the service's threads."""
    call = durable.call
    workspace = call.workspace or call.config.workspace or worker.settings.workspace
    if not workspace:
        return _Ran(error=ApiError(400, "invalid_request", "no workspace: name it in the request"))
    key = worker.settings.keys.key_for(workspace)
    if key is None:
        return _Ran(
            error=ApiError(400, "missing_api_key", worker.settings.keys.missing_key(workspace))
        )
    deadline = worker.settings.engine_deadline
    loop = asyncio.get_running_loop()
    options = FetchOptions(
        concurrency=worker.settings.fetch_concurrency,
        wait=0.0,
        poll_interval=worker.settings.poll_interval_ms / 1000,
        deadline=loop.time() + deadline,
    )
    flag = StopFlag(time.monotonic() + deadline)
    try:
        async with asyncio.timeout(deadline):
            # what the look that woke the gate saw is not asked again (gate.worker.seen)
            upstream = worker.sources(workspace, key)
            source = worker.seen.source(workspace, upstream, since=step.since)
            gathered = await gather_inputs(call.gate_request(workspace), source, options)
            decided = await worker.offload(
                flag, "evaluate", decide_document, call, gathered, worker.settings.limits, flag
            )
    except StillRunning as error:
        return _Ran(waiting=f"evaluation {error.eval_id} (not done yet)")
    except NoEvalAppeared as error:
        return _Ran(waiting=f"the newest evaluation of {error.by} {error.ref} (none yet)")
    except ApiError as error:
        return _Ran(error=error)
    except (ResultsUnavailable, HttpError, TimeoutError, WorkStopped) as error:
        if _transient(error):
            reason = str(error) or f"the engine's deadline of {deadline:g} s passed"
            return _Ran(transient=one_line(reason))
        if isinstance(error, GateError):
            return _Ran(error=error)
        return _Ran(error=ResultsUnavailable(one_line(str(error))))
    except GateError as error:
        return _Ran(error=error)
    except Exception as error:
        step.log.exception("worker.internal_error", error=type(error).__name__)
        return _Ran(
            error=ApiError(
                500,
                "internal",
                f"internal error ({type(error).__name__}); this is a bug in eval-gate, please "
                f"report it with the gate id {step.gate.id}",
            )
        )
    return _Ran(decided=decided)


async def step_gate(worker: Worker, gate: GateRow) -> None:
    """Step one gate this worker has just claimed (see the module's docstring)."""
    step = _Step(worker, gate)
    try:
        await step.run()
    except LeaseLost:
        return
