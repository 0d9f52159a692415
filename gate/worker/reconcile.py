"""The webhook reconciler: GitHub never redelivers a failed delivery by itself, so the worker
asks it to, for the deliveries the service never recorded.

Every `every_ms` (a few minutes), when the service is a GitHub App with a webhook secret:

1. list the App's recent deliveries (`GET /app/hook/deliveries`, the App's JWT), newest first,
   at most `max_pages` pages of `per_page`, stopping at the first older than `max_age_ms`;
2. keep the ids (`guid`) whose every attempt failed (no 2xx answer: the service was down,
   timed out, or answered 5xx) and which the database has not recorded (a delivery recorded
   with its work, then answered too late, needs nothing);
3. for at most `max_redeliveries` of them, newest first: claim the request in the database
   (`Transaction.ask_redelivery`: one replica asks, and a guid is asked again only after
   `again_after_ms`, when its redelivery failed too), then ask GitHub
   (`POST /app/hook/deliveries/{id}/attempts`). A request GitHub refuses drops the claim, so
   the next run asks again.

A run's cost is bounded: pages listed, age, redeliveries asked. A failure (GitHub, the
database) is one log line; the next run tries again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import structlog

from gate.core.redact import redact_line
from gate.github.api import GitHubError
from gate.github.app_api import HookDelivery
from gate.store import Store
from gate.store.store import Clock

__all__ = ["DeliveryLog", "ReconcileSettings", "Reconciled", "reconcile_once"]

_log = structlog.get_logger("gate.worker.reconcile")


@runtime_checkable
class DeliveryLog(Protocol):
    """What the reconciler needs of the App (`gate.github.app.GitHubApp` is one)."""

    def hook_deliveries(self, *, per_page: int = 100) -> AsyncIterator[list[HookDelivery]]: ...

    async def redeliver(self, delivery_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class ReconcileSettings:
    """How much one run of the reconciler may do, and how often it runs."""

    every_ms: int = 300_000  # a run every five minutes
    max_age_ms: int = 6 * 3_600_000  # deliveries older than this are left alone
    max_pages: int = 5  # pages of deliveries listed a run, at most
    per_page: int = 100
    max_redeliveries: int = 20  # redeliveries asked a run, at most
    again_after_ms: int = 1_800_000  # a guid asked before is asked again after this

    def __post_init__(self) -> None:
        if min(self.every_ms, self.max_age_ms, self.again_after_ms) < 1_000:
            raise ValueError("the reconciler's times are at least a second")
        if self.max_pages < 1 or not 1 <= self.per_page <= 100 or self.max_redeliveries < 0:
            raise ValueError("max_pages >= 1, per_page 1 to 100, max_redeliveries >= 0")


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What one run did: deliveries listed, ids found failed and unrecorded, redeliveries
    asked."""

    listed: int = 0
    missing: int = 0
    asked: int = 0


def _failed(deliveries: list[HookDelivery]) -> list[HookDelivery]:
    """The latest attempt of each guid none of whose attempts succeeded, newest first."""
    succeeded = {d.guid for d in deliveries if d.succeeded}
    latest: dict[str, HookDelivery] = {}
    for delivery in deliveries:  # newest first: the first seen of a guid is its latest
        if delivery.guid not in succeeded:
            latest.setdefault(delivery.guid, delivery)
    return list(latest.values())


async def _recent(app: DeliveryLog, settings: ReconcileSettings, now: int) -> list[HookDelivery]:
    cutoff = now - settings.max_age_ms
    found: list[HookDelivery] = []
    pages = 0
    async for page in app.hook_deliveries(per_page=settings.per_page):
        pages += 1
        fresh = [d for d in page if d.delivered_at.timestamp() * 1000 >= cutoff]
        found.extend(fresh)
        if len(fresh) < len(page) or pages >= settings.max_pages:
            break
    return found


async def reconcile_once(
    store: Store,
    app: DeliveryLog,
    clock: Clock,
    settings: ReconcileSettings,
    *,
    secrets: tuple[str, ...] = (),
) -> Reconciled:
    """One run (see the module's docstring); raises GitHubError or StoreUnavailable when the
    listing or the database fails."""
    now = clock()
    recent = await _recent(app, settings, now)
    failed = _failed(recent)
    if not failed:
        return Reconciled(len(recent))
    async with store.read() as tx:
        known = await tx.delivered(d.guid for d in failed)
        missing = [d for d in failed if d.guid not in known]
        lately = await tx.asked_since((d.guid for d in missing), now - settings.again_after_ms + 1)
    asked = 0
    due = [d for d in missing if d.guid not in lately]
    for delivery in due[: settings.max_redeliveries]:
        async with store.transaction() as tx:
            claimed = await tx.ask_redelivery(
                delivery.guid, delivery.id, now, again_after=settings.again_after_ms
            )
        if not claimed:
            continue
        try:
            await app.redeliver(delivery.id)
        except GitHubError as error:
            async with store.transaction() as tx:
                await tx.forget_redelivery(delivery.guid)
            _log.warning(
                "github.webhook_redelivery_failed",
                delivery=delivery.guid,
                reason=redact_line(str(error), secrets, limit=300),
            )
            continue
        asked += 1
        _log.info(
            "github.webhook_redelivery",
            delivery=delivery.guid,
            event_name=delivery.event,
            action=delivery.action,
            status_code=delivery.status_code,
        )
    return Reconciled(len(recent), len(missing), asked)
