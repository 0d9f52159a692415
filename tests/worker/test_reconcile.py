"""The webhook reconciler: the App's failed deliveries the store never recorded are asked of
GitHub again, once (per `again_after`), a bounded number a run, through the GitHub stand-in
that checks the App's JWTs and serves its deliveries as GitHub pages them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.store import open_store
from gate.worker import Worker, WorkerSettings
from gate.worker.reconcile import ReconcileSettings, reconcile_once
from tests.github_app_standin import StandInApp
from tests.github_standin import server_error
from tests.worker.conftest import APP_ID

HOUR = 3600.0


@pytest.fixture
def github_app(app_private_key, clock):
    return StandInApp(app_private_key.public_key(), app_id=APP_ID, clock=clock)


@pytest.fixture
async def store(tmp_path: Path, clock):
    made = open_store(f"sqlite:///{tmp_path}/gates.db", clock=lambda: int(clock() * 1000))
    await made.upgrade()
    yield made
    await made.close()


def ms(clock):
    return lambda: int(clock() * 1000)


async def test_failed_unrecorded_deliveries_are_asked_again_once(github_app, app, store, clock):
    lost = github_app.add_delivery("lost-1", "check_run", action="rerequested", status_code=0)
    failed_then_ok = "retried-ok"
    github_app.add_delivery(failed_then_ok, "pull_request", status_code=503, age=600)
    github_app.add_delivery(failed_then_ok, "pull_request", status_code=202, age=300)
    recorded = github_app.add_delivery("recorded", "pull_request", status_code=502)
    github_app.add_delivery("fine", "pull_request", status_code=202)
    github_app.add_delivery("too-old", "pull_request", status_code=500, age=7 * HOUR)
    async with store.transaction() as tx:
        await tx.record_delivery("recorded", "pull_request", "closed", 1)
    settings = ReconcileSettings()
    done = await reconcile_once(store, app, ms(clock), settings)
    assert (done.listed, done.missing, done.asked) == (5, 1, 1)
    assert github_app.redelivered == [lost]
    assert recorded not in github_app.redelivered
    again = await reconcile_once(store, app, ms(clock), settings)
    assert (again.missing, again.asked) == (1, 0)  # claimed: not asked twice
    clock.advance(settings.again_after_ms / 1000)
    later = await reconcile_once(store, app, ms(clock), settings)
    assert later.asked == 1  # its redelivery failed too: asked again after again_after
    assert github_app.jwts  # every call with the App's JWT, checked by the stand-in


async def test_a_run_is_bounded_by_pages_and_by_redeliveries(github_app, app, store, clock):
    for n in range(30):
        github_app.add_delivery(f"lost-{n:02}", "pull_request", status_code=500, age=30 + n)
    pages = ReconcileSettings(per_page=10, max_pages=2, max_redeliveries=100)
    done = await reconcile_once(store, app, ms(clock), pages)
    assert (done.listed, done.asked) == (20, 20)  # two pages of ten, newest first
    assert len(github_app.redelivered) == 20
    few = ReconcileSettings(per_page=100, max_redeliveries=3)
    more = await reconcile_once(store, app, ms(clock), few)
    assert (more.listed, more.missing, more.asked) == (30, 30, 3)


async def test_a_redelivery_github_refuses_is_asked_again_next_run(
    github_app, standin, app, store, clock
):
    lost = github_app.add_delivery("lost", "check_suite", status_code=0)
    standin.fail("apps/redeliver-webhook-delivery", server_error(502))
    first = await reconcile_once(store, app, ms(clock), ReconcileSettings())
    assert (first.missing, first.asked) == (1, 0)
    second = await reconcile_once(store, app, ms(clock), ReconcileSettings())
    assert second.asked == 1
    assert github_app.redelivered == [lost]


async def test_the_worker_reconciles_only_as_an_app(app, store, clock, github_app):
    github_app.add_delivery("lost", "check_suite", status_code=0)
    off = Worker(store, WorkerSettings(), sources=lambda w, k: None, clock=ms(clock))
    assert await off.reconcile_round() is None
    on = Worker(
        store,
        WorkerSettings(github=app, reconcile=ReconcileSettings()),
        sources=lambda w, k: None,
        clock=ms(clock),
    )
    done = await on.reconcile_round()
    assert done is not None
    assert done.asked == 1
