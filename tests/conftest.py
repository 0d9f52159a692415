"""Fixtures shared across the suite.

A test module that talks to a stand-in defines its own `standin` fixture (the scenario: which
evals, pulls or faults it serves); `server` serves that stand-in on 127.0.0.1 and `session` is
the client session our code is handed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest


@pytest.fixture
async def server(aiohttp_server: Any, standin: Any) -> Any:
    """The module's `standin` served on a loopback port."""
    return await aiohttp_server(standin.app())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture(scope="session")
def app_private_key() -> Any:
    """The test GitHub App's RSA private key (2,048 bits), made by `cryptography` when first
    asked: no private key is ever a file in the repository."""
    from tests.github_app_standin import new_private_key  # noqa: PLC0415 - only where used

    return new_private_key()
