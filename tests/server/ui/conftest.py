"""The history pages' fixtures: a migrated SQLite store on a fake clock, and the service's app
with it (the store's contract, on both backends, is tests/store's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gate.server.app import create_app
from gate.server.settings import ServerSettings
from gate.server.ui import UI
from gate.store import Store, open_store
from tests.server.ui.helpers import TOKEN, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/gates.db", clock=clock)
    await store.upgrade()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def make_client(aiohttp_client: Any, store: Store, clock: Clock) -> Callable[..., Any]:
    """`await make_client(**settings)`: a test client of the service with `store`; the pages'
    wall clock is the store's fake one."""

    async def make(**settings: Any) -> Any:
        settings.setdefault("tokens", (TOKEN,))
        app = create_app(ServerSettings(**settings), store=store)
        app[UI].now_ms = clock
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> Any:
    return await make_client()
