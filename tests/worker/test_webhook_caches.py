"""An uninstalled App's cached tokens and installation lookups are dropped when its webhook says
so (`Worker.webhook`), so the next gate of those repositories asks GitHub again instead of
using a token GitHub revoked. The stand-in keeps the App installed here: only the webhook can
have made the App forget."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.github.webhook import InstallationGone
from gate.store import open_store
from gate.worker import Worker, WorkerSettings
from tests.github_app_standin import StandInApp
from tests.worker.conftest import APP_ID

REPO = "octo-org/octo-repo"
OTHER = "octo-org/other"


@pytest.fixture
def github_app(app_private_key, clock):
    app = StandInApp(app_private_key.public_key(), app_id=APP_ID, clock=clock)
    app.install(REPO, OTHER)
    return app


@pytest.fixture
async def worker(tmp_path: Path, app, clock):
    store = open_store(f"sqlite:///{tmp_path}/gates.db", clock=lambda: int(clock() * 1000))
    await store.upgrade()
    yield Worker(store, WorkerSettings(github=app), sources=lambda w, k: None)
    await store.close()


@pytest.mark.parametrize("whole", [True, False])
async def test_the_webhook_makes_the_app_forget_its_tokens_and_lookups(
    worker, app, github_app, standin, whole
):
    (installation,) = github_app.installations
    await app.token_for(REPO)
    await app.token_for(OTHER)
    assert (standin.count("create-token"), standin.count("get-installation")) == (1, 2)
    await app.token_for(REPO)
    assert standin.count("create-token") == 1  # cached
    event = InstallationGone(installation, (REPO,), whole=whole)
    outcome = await worker.webhook("d-1", "installation", "deleted", event)
    assert outcome.recorded
    await app.token_for(REPO)
    assert standin.count("create-token") == 2  # minted anew, not the cached one
    assert standin.count("get-installation") == 3  # looked up anew
    await app.token_for(OTHER)
    # A deleted installation takes every repository's lookup with it; a removed one, its own.
    assert standin.count("get-installation") == (4 if whole else 3)
    again = await worker.webhook("d-1", "installation", "deleted", event)
    assert not again.recorded  # a redelivery changes nothing in the store
