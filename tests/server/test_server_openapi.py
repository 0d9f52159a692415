"""schema/openapi.yaml and the running server agree: property-based, driven by the description.

Schemathesis generates requests from the description (its examples, then schema-valid and
schema-invalid data, a bounded number per operation) and sends them to the real app,
served on a loopback port from a background thread, with the Roboflow and GitHub stand-ins
as upstreams (nothing leaves 127.0.0.1). Every answer must: not be a 5xx, have a documented
status, content type and headers, and match the documented schema; and a request the
description calls invalid must be refused (a 4xx), so the server is at least as strict as
the description says.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gate.server.app import create_app
from gate.server.settings import ServerSettings
from gate.store.settings import DatabaseSettings, parse_database_url
from tests.github_standin import GitHubStandIn
from tests.paths import REPO
from tests.roboflow_standin import RoboflowStandIn
from tests.server.test_server import GH_TOKEN, KEY, SHA, TOKEN

MAX_EXAMPLES = 50  # per operation and generation mode: a few seconds in all
# Request fields the description says everything about (type, enum, pattern, range): a
# schema-valid value must never be refused. Others are refused for what no schema can say
# (a config rule's metric, an eval id with a space, a wait longer than this server's deadline,
# github.pull_number missing when a comment needs it).
DESCRIBED_FIELDS = frozenset(
    {
        "fail_on",
        "max_chars",
        "github.repository",
        "github.sha",
        "github.gate_id",
        "github.comment",
    }
)
DESCRIBED_CODES = frozenset({"missing_api_key", "invalid_api_key", "invalid_json"})


@schemathesis.check
def described_parts_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request may be refused for what the description cannot say (a config's
    content, an evaluation that does not exist), never for a part it describes in full: the
    API key header, the media type, JSON itself, the fields in DESCRIBED_FIELDS."""
    del ctx
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    if response.status_code == 415:
        raise AssertionError("a schema-valid request was refused as not JSON (415)")
    if response.status_code != 400:
        return None
    error = response.json()
    if error.get("error") in DESCRIBED_CODES:
        raise AssertionError(f"a schema-valid request was refused: {error['message']}")
    blamed = {p.get("field") for p in error.get("problems", [])} & DESCRIBED_FIELDS
    if blamed:
        raise AssertionError(f"a schema-valid {sorted(blamed)} was refused: {error['message']}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    described_parts_are_accepted,
]

schema = schemathesis.openapi.from_path(
    REPO / "schema" / "openapi.yaml",
    config=SchemathesisConfig.from_dict(
        {
            "seed": 20261129,  # the same examples every run: a CI failure reproduces locally
            "generation": {
                "mode": "all",  # schema-valid and schema-invalid requests
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "with-security-parameters": False,  # the bearer token is sent by the test
            },
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        }
    ),
)


async def _start(runners: list[web.AppRunner], app: web.Application) -> str:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    runners.append(runner)
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app (with a database: the durable routes work) and both stand-ins on 127.0.0.1,
    on an event loop in a thread of its own."""
    database = tmp_path_factory.mktemp("openapi") / "gates.db"
    roboflow = RoboflowStandIn(api_key=KEY, workspace="my-workspace")
    roboflow.add_eval("eval-123", created_at="2026-01-01T00:00:00Z")  # the description's
    roboflow.add_eval("eval-124", created_at="2026-01-02T00:00:00Z")  # examples name these
    github = GitHubStandIn(token=GH_TOKEN)
    github.add_pull("octo-org/octo-repo", 7, head_sha=SHA)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="served", daemon=True)
    thread.start()
    runners: list[web.AppRunner] = []

    async def start() -> str:
        settings = ServerSettings(
            tokens=(TOKEN,),
            roboflow_api_key=KEY,
            api_url=await _start(runners, roboflow.app()),
            github_api_url=await _start(runners, github.app()),
            request_deadline=10.0,
            upstream_timeout=5.0,
            grace=1.0,
            github_token=GH_TOKEN,
            github_webhook_secret="whsec-openapi-0123456789abcdef",  # unsigned requests: 401
            database=DatabaseSettings(url=parse_database_url(f"sqlite:///{database}")),
        )
        return await _start(runners, create_app(settings))

    async def stop() -> None:
        for runner in reversed(runners):
            await runner.cleanup()

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@schema.parametrize()
def test_the_server_answers_as_described(case, served):
    case.call_and_validate(
        base_url=served,
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=CHECKS,
        timeout=30,
    )
