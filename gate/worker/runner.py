"""The durable gates' worker: one per `eval-gate serve` process, any number on one PostgreSQL.

Two loops share the process's event loop with the HTTP server:

- the poll loop claims watches that are due (`Transaction.claim_watches`: leased, never two
  workers on one), asks Roboflow about each once (gate.worker.watching) and records what it
  saw; a change wakes the gates waiting on that evaluation. However many gates wait on one
  evaluation, it is asked about once per poll interval;
- the step loop claims due gates (leased: `FOR UPDATE SKIP LOCKED` on PostgreSQL, one writer
  on SQLite), as many as it has free slots, and steps each in its own task
  (gate.worker.stepper); a heartbeat renews the leases of the gates being stepped, so a long
  step never loses its gate to another worker while it is alive.

A finished gate's rows are purged after the retention period, a bounded number a run. As a
GitHub App with a webhook secret, a third loop asks GitHub to redeliver the webhook deliveries
that failed and were never recorded (gate.worker.reconcile), a bounded number a run.
`stop(grace)` (SIGTERM): claim nothing more, give the steps in flight the grace to finish,
cancel the rest, and release every lease this worker holds so that another process takes its
gates at once. A process killed outright loses nothing either: its leases expire and another
worker (or the restarted one) takes its gates over; effects are idempotent.

The faces call `submit`, `cancel`, `rerun` and `webhook` (the App's deliveries:
gate.worker.hooks).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import structlog

from gate.api.body import DurableCall
from gate.api.errors import ApiError
from gate.core.redact import redact_line
from gate.github.api import GitHubError
from gate.github.webhook import InstallationGone, WebhookEvent
from gate.store import GateRow, Inserted, NewGate, Store, StoreUnavailable, WatchRow, WatchSpec
from gate.store.store import Clock, system_clock
from gate.worker.context import CallbackSender, Offload, Sources, WorkerSettings, inline, worker_id
from gate.worker.hooks import HookOutcome, apply_event, max_wait_ms
from gate.worker.reconcile import DeliveryLog, Reconciled, reconcile_once
from gate.worker.seen import Seen
from gate.worker.stepper import step_gate, watch_specs
from gate.worker.watching import Look, look, settled

__all__ = ["Worker"]

_log = structlog.get_logger("gate.worker")


class Worker:
    """The durable gates' worker of one process (see the module's docstring)."""

    def __init__(
        self,
        store: Store,
        settings: WorkerSettings,
        *,
        sources: Sources,
        github_transport: Any = None,
        offload: Offload = inline,
        callbacks: CallbackSender | None = None,
        clock: Clock = system_clock,
        owner: str | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.settings = settings
        self.sources = sources
        self.github_transport = github_transport
        self.offload = offload
        self.callbacks = callbacks
        self.clock = clock
        self.owner = owner or worker_id()
        self.secrets = tuple(dict.fromkeys((*secrets, *settings.keys.secrets)))
        # what the looks saw of done evaluations, for the gates they wake (gate.worker.seen),
        # trusted as long as the watch's own settled answer is (it is looked at again then):
        # a wake of thousands of gates takes minutes, and each would ask again after a minute
        self.seen = Seen(settings.settled_recheck_ms, clock)
        self._woken: asyncio.Event | None = None  # there may be gates to step
        self._poll_woken: asyncio.Event | None = None  # there may be new watches to look at
        self._held: set[str] = set()
        self._looking: set[str] = set()  # watches being looked at
        self._steps: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._claiming = False
        self._last_purge: int | None = None
        self.log = _log.bind(worker=self.owner)

    # --------------------------------------------------------------- what the faces call

    def workspace_of(self, durable: DurableCall) -> str:
        """The workspace the gate runs in; ApiError 400 when it cannot run on this server
        (no workspace, no Roboflow key for it, no GitHub credentials for its repository)."""
        call = durable.call
        workspace = call.workspace or call.config.workspace or self.settings.workspace
        if not workspace:
            raise ApiError(
                400,
                "invalid_request",
                "no workspace: add workspace to the request body or workspace: to the config",
            )
        if self.settings.keys.key_for(workspace) is None:
            raise ApiError(400, "missing_api_key", self.settings.keys.missing_key(workspace))
        part = call.github
        if part is not None and self.settings.github is None:
            raise ApiError(
                400,
                "invalid_request",
                "github: this server has no GitHub credentials to post with (durable gates "
                "never use a job's token): its operator sets EVAL_GATE_GITHUB_TOKEN or makes "
                "it a GitHub App; or leave github out and read the verdict from the gate",
            )
        return workspace

    async def submit(
        self,
        durable: DurableCall,
        request: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Inserted:
        """Store a validated durable gate, queued and due now, linked to what it waits for
        (IdempotencyConflict: the key was used for another request)."""
        workspace = self.workspace_of(durable)
        part = durable.call.github
        try:
            new = NewGate(
                request=request,
                max_wait_ms=round(durable.max_wait * 1000),
                idempotency_key=idempotency_key,
                repository=part.repository if part else None,
                pull_number=part.pull_number if part else None,
                sha=part.sha if part else None,
                gate_name=part.gate_id if part else None,
                callback_url=durable.callback_url,
            )
            specs = [WatchSpec(w, by, ref) for w, by, ref in watch_specs(durable, workspace)]  # type: ignore[arg-type]
        except ValueError as refused:
            raise ApiError(400, "invalid_request", str(refused)) from None
        async with self.store.transaction() as tx:
            inserted = await tx.insert_gate(new)
            if inserted.created:
                await tx.watch(inserted.gate.id, specs)
                # A push replaced its commit before it came (the synchronize was first).
                if await tx.supersede_if_replaced(inserted.gate, self.clock()):
                    superseded = await tx.gate(inserted.gate.id)
                    assert superseded is not None
                    inserted = Inserted(superseded, created=True)
        if inserted.created:
            self.log.info("worker.submitted", gate_id=inserted.gate.id, watches=len(specs))
            self.wake()
            if self._poll_woken is not None:
                self._poll_woken.set()  # its watches may be new: look now, not in a second
        return inserted

    async def cancel(self, gate_id: str) -> GateRow | None:
        """Cancel the gate unless it is finished; the gate as it is after (None: no such
        gate). A worker stepping it is fenced out; the cancellation is published next."""
        async with self.store.transaction() as tx:
            gate = await tx.cancel_gate(gate_id, self.clock())
        if gate is not None and gate.status == "cancelled":
            self.wake()
        return gate

    async def rerun(self, gate_id: str) -> GateRow | None:
        """Run a finished gate again with the same request and `max_wait` (issue 19's
        "Re-run"); the gate as it is after (unchanged while it runs; None: no such gate)."""
        async with self.store.transaction() as tx:
            gate = await tx.gate(gate_id)
            if gate is None or not gate.finished:
                return gate
            now = self.clock()
            again = await tx.rerun_gate(gate_id, now, max_wait_ms(gate))
            await tx.poll_soon([w.key for w in await tx.watches_of(gate_id)], now)
        self.wake()
        return again

    async def webhook(
        self, guid: str, name: str, action: str | None, event: WebhookEvent
    ) -> HookOutcome:
        """Apply a verified webhook delivery (gate.worker.hooks): recorded with its changes in
        one transaction, a redelivery changing nothing. When the App lost repositories, its
        cached tokens and installation lookups are dropped too (a redelivery drops them
        again: harmless)."""
        outcome = await apply_event(self, guid, name, action, event)
        if isinstance(event, InstallationGone):
            credentials = self.settings.github
            if event.whole:
                forget = getattr(credentials, "forget_installation", None)
                if forget is not None:
                    forget(event.installation_id)
            else:
                forget_repos = getattr(credentials, "forget_repositories", None)
                if forget_repos is not None:
                    forget_repos(event.installation_id, event.repositories)
        return outcome

    def wake(self) -> None:
        """There may be work now (a submit, a cancel, a watch that changed)."""
        if self._woken is not None:
            self._woken.set()

    # --------------------------------------------------------------- one round of each kind

    async def _look(self, watch: WatchRow) -> Look:
        key = self.settings.keys.key_for(watch.workspace)
        if key is None:
            return Look("error", watch.eval_id, self.settings.keys.missing_key(watch.workspace))
        within = self.settings.look_timeout
        try:
            async with asyncio.timeout(within):
                return await look(
                    watch.by, watch.ref, self.sources(watch.workspace, key), before=watch
                )
        except TimeoutError:
            return Look(watch.status, watch.eval_id, f"no answer within {within:g} s", failed=True)

    async def poll_round(self) -> int:
        """Look once at each due watch (at most `batch`); how many were looked at."""
        settings = self.settings
        async with self.store.transaction() as tx:
            due = await tx.claim_watches(
                self.owner, self.clock(), settings.lease_ms, settings.batch
            )
        if not due:
            return 0
        self._looking.update(w.key for w in due)
        try:
            looks = await asyncio.gather(*(self._look(w) for w in due))
        finally:
            self._looking.difference_update(w.key for w in due)
        for watch, seen in zip(due, looks, strict=True):
            if seen.status == "done" and seen.answer:
                self.seen.remember(watch.workspace, watch.by, watch.ref, seen.answer)
        now = self.clock()
        woken = 0
        async with self.store.transaction() as tx:
            for watch, seen in zip(due, looks, strict=True):
                later = settings.settled_recheck_ms if settled(seen.status) else 0
                woke = await tx.record_watch(
                    watch.key,
                    self.owner,
                    now,
                    status=seen.status,
                    eval_id=seen.eval_id,
                    detail=seen.detail if seen.status != "done" else None,
                    next_poll_at=now + max(settings.poll_interval_ms, later),
                )
                woken += woke or 0
        self.log.debug("worker.polled", watches=len(due), woken=woken)
        if woken:
            self.wake()
        return len(due)

    async def claim_round(self, limit: int) -> list[GateRow]:
        """Claim up to `limit` due gates (leased to this worker)."""
        if limit < 1:
            return []
        async with self.store.transaction() as tx:
            claimed = await tx.claim_gates(
                self.owner, self.clock(), self.settings.lease_ms, min(limit, self.settings.batch)
            )
        self._held.update(g.id for g in claimed)
        return claimed

    async def step(self, gate: GateRow) -> None:
        """Step a gate this worker claimed; never raises (a failure leaves the gate to be
        taken over when its lease expires)."""
        try:
            await step_gate(self, gate)
        except asyncio.CancelledError:
            raise
        except StoreUnavailable as error:
            self.log.warning("worker.store_unavailable", gate_id=gate.id, reason=error.reason)
        except Exception as error:
            self.log.exception("worker.step_failed", gate_id=gate.id, error=type(error).__name__)
        finally:
            self._held.discard(gate.id)

    async def purge_round(self, *, force: bool = False) -> int:
        """Purge finished gates older than the retention (bounded), at most once every
        `purge_every_ms` unless `force`; how many were purged."""
        now = self.clock()
        last = self._last_purge
        if not force and last is not None and now - last < self.settings.purge_every_ms:
            return 0
        self._last_purge = now
        async with self.store.transaction() as tx:
            purged = await tx.purge(now - self.settings.retention_ms, self.settings.purge_limit)
        if purged:
            self.log.info("worker.purged", gates=purged)
        return purged

    async def reconcile_round(self) -> Reconciled | None:
        """One run of the webhook reconciler (gate.worker.reconcile): failed deliveries the
        store never recorded are asked of GitHub again. None when it is off (no App, no
        webhook secret)."""
        settings, app = self.settings.reconcile, self.settings.github
        if settings is None or not isinstance(app, DeliveryLog):
            return None
        reconciled = await reconcile_once(
            self.store, app, self.clock, settings, secrets=self.secrets
        )
        if reconciled.asked or reconciled.missing:
            self.log.info(
                "worker.reconciled",
                listed=reconciled.listed,
                missing=reconciled.missing,
                asked=reconciled.asked,
            )
        return reconciled

    async def _reconcile_loop(self) -> None:
        settings = self.settings.reconcile
        assert settings is not None
        while self._claiming:
            try:
                await self.reconcile_round()
            except StoreUnavailable as error:
                self.log.warning("worker.store_unavailable", reason=error.reason)
            except GitHubError as error:
                reason = redact_line(str(error), self.secrets, limit=300)
                self.log.warning("worker.reconcile_failed", reason=reason)
            except Exception as error:
                self.log.exception("worker.reconcile_failed", error=type(error).__name__)
            await asyncio.sleep(settings.every_ms / 1000)

    async def run_once(self) -> int:
        """One round, everything awaited (tests and tools): poll the due watches, step the
        due gates, purge if due. How many watches and gates it handled."""
        polled = await self.poll_round()
        claimed = await self.claim_round(self.settings.concurrency)
        await asyncio.gather(*(self.step(g) for g in claimed))
        await self.purge_round()
        return polled + len(claimed)

    async def run_until_idle(self, *, rounds: int = 100) -> int:
        """`run_once` until a round finds nothing due (tests); the rounds it took."""
        for done in range(1, rounds + 1):
            if not await self.run_once():
                return done
        raise RuntimeError(f"the worker still had work after {rounds} rounds")

    # --------------------------------------------------------------- running in the service

    async def start(self) -> None:
        """Start the loops (the service's startup)."""
        self._woken = asyncio.Event()
        self._poll_woken = asyncio.Event()
        self._claiming = True
        self._loops = [
            asyncio.create_task(self._poll_loop(), name="eval-gate-poll"),
            asyncio.create_task(self._step_loop(), name="eval-gate-step"),
            asyncio.create_task(self._heartbeat(), name="eval-gate-heartbeat"),
        ]
        if self.settings.reconcile is not None and isinstance(self.settings.github, DeliveryLog):
            self._loops.append(
                asyncio.create_task(self._reconcile_loop(), name="eval-gate-reconcile")
            )
        self.log.info(
            "worker.started",
            lease_s=self.settings.lease_ms / 1000,
            poll_interval_s=self.settings.poll_interval_ms / 1000,
            concurrency=self.settings.concurrency,
        )

    @property
    def in_flight(self) -> int:
        """Gates being stepped by this process now."""
        return len(self._steps)

    async def _nap(self, seconds: float, woken: asyncio.Event | None) -> None:
        if woken is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await woken.wait()
        woken.clear()

    async def _poll_loop(self) -> None:
        while self._claiming:
            try:
                polled = await self.poll_round()
            except StoreUnavailable as error:
                self.log.warning("worker.store_unavailable", reason=error.reason)
                polled = 0
            except Exception as error:
                self.log.exception("worker.poll_failed", error=type(error).__name__)
                polled = 0
            if not polled:
                await self._nap(self.settings.idle, self._poll_woken)

    async def _step_loop(self) -> None:
        # Claim in batches: with steps in flight, wait until a quarter of the slots is free
        # rather than claiming (a write transaction) each time one step ends.
        enough = max(1, self.settings.concurrency // 4)
        while self._claiming:
            free = self.settings.concurrency - len(self._steps)
            if self._steps and free < enough:
                await self._nap(self.settings.idle, self._woken)
                continue
            claimed: list[GateRow] = []
            try:
                claimed = await self.claim_round(free)
                await self.purge_round()
            except StoreUnavailable as error:
                self.log.warning("worker.store_unavailable", reason=error.reason)
            except Exception as error:
                self.log.exception("worker.claim_failed", error=type(error).__name__)
            for gate in claimed:
                task = asyncio.create_task(self.step(gate), name=f"eval-gate-step-{gate.id}")
                self._steps.add(task)
                task.add_done_callback(self._step_done)
            if not claimed or len(self._steps) >= self.settings.concurrency:
                await self._nap(self.settings.idle, self._woken)

    def _step_done(self, task: asyncio.Task[None]) -> None:
        self._steps.discard(task)
        self.wake()  # a slot is free

    async def _heartbeat(self) -> None:
        every = self.settings.lease_ms / 3000
        while True:
            await asyncio.sleep(every)
            held, looking = set(self._held), set(self._looking)
            if not held and not looking:
                continue
            now = self.clock()
            until = now + self.settings.lease_ms
            try:
                async with self.store.transaction() as tx:
                    kept = await tx.renew(self.owner, held, until, now=now)
                    await tx.renew_watches(self.owner, looking, until, now=now)
            except StoreUnavailable as error:
                self.log.warning("worker.store_unavailable", reason=error.reason)
                continue
            lost = (held - kept) & self._held  # still stepping, yet no longer ours
            if lost:
                self.log.warning("worker.leases_lost", gates=sorted(lost)[:10], count=len(lost))

    async def stop(self, grace: float) -> None:
        """Stop claiming, give the steps in flight `grace` seconds, cancel the rest, release
        every lease this worker holds (SIGTERM)."""
        self._claiming = False
        in_flight = len(self._steps)
        self.log.info("worker.stopping", gates_in_flight=in_flight, grace=grace)
        for task in self._loops:  # each cancelled once (the store finishes a statement first)
            if task.get_name() != "eval-gate-heartbeat":
                task.cancel()
        cut = 0
        if self._steps:
            _done, pending = await asyncio.wait(set(self._steps), timeout=max(0.0, grace))
            cut = len(pending)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in self._loops:
            if task.get_name() == "eval-gate-heartbeat":
                task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        try:
            async with self.store.transaction() as tx:
                released = await tx.release(self.owner)
        except StoreUnavailable as error:
            self.log.warning("worker.store_unavailable", reason=error.reason)
            released = 0
        self.log.info("worker.stopped", released=released, cut_short=cut)
