"""No piece of a secret is ever shown: not whole, not cut short.

Servers echo what they were sent ("invalid key rf_…"), and eval-gate shortens a server's error
text (200 characters for Roboflow, 300 for GitHub, 140 for a commit status, 255 for a check
run's title). If the text is cut before the secrets are masked, a key that straddles the cut
leaves its first characters behind, and a mask that only knows whole secrets misses them.
The stand-ins echo the credential each request carried (`ECHO` in a scripted body); the key
is placed so that every cut falls anywhere in it, and every channel a face writes to is
searched for any 8 characters in a row of any secret: the Roboflow key, the GitHub token
and the service's bearer tokens.

- `redact_line` and the two APIs' parsers, for every cut position (exhaustively);
- the CLI (stdout, stderr with its log lines and the error line, the report, JSON and JUnit
  files), the service (its answers and its log lines) and the Action (its workflow commands,
  log, step summary, outputs and report files, and everything it sent GitHub: the comment,
  the commit status, the check run's title, summary and annotations), each run in-process
  against stand-ins on 127.0.0.1, with hypothesis choosing the cut, the body and the
  status (a bounded number of examples).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.github.api import GitHubError
from gate.github.client import GitHubClient
from gate.http import MockTransport, RawResponse, Request, RetryPolicy
from gate.roboflow.api import RoboflowError
from gate.roboflow.client import RoboflowClient
from tests.github_standin import Fault, GitHubStandIn
from tests.paths import EVENTS
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results
from tests.runner_files import parse_runner_output_file
from tests.standin_base import ECHO

KEY = "rf_Q7vX2mN9pL4kR8sT1wY6zB3cD5fG0hJ"  # the Roboflow key
GH_TOKEN = "ghs_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"  # the GitHub token
BEARER = "svc_Zq8Wx7Ev6Rc5Tb4Yn3Um2Ik1Ol0Pa9Sd"  # the service's bearer token
SECRETS = (KEY, GH_TOKEN, BEARER)
FRAGMENT = 8  # no this many characters of a secret in a row, anywhere
REPO = "octo-org/octo-repo"
PR = 2
PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # the sample event's head commit
ROBOFLOW_CUT = 200  # characters of Roboflow's error text shown
GITHUB_CUT = 300  # characters of GitHub's error text shown
CONFIG = """\
version: 1
workspace: ws
rules:
  - "map50 >= 0.5"
  - {metric: map50, classes: "*", min: 0.5}
"""

EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fragments(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """Every run of FRAGMENT characters of a secret found in `text`, or in it as Markdown
    shows it (`rf\\_Q7vX2` reads `rf_Q7vX2`): should be none."""
    shown = re.sub(r"\\(.)", r"\1", text)
    return sorted(
        {
            secret[i : i + FRAGMENT]
            for secret in secrets
            for i in range(len(secret) - FRAGMENT + 1)
            if secret[i : i + FRAGMENT] in text or secret[i : i + FRAGMENT] in shown
        }
    )


def assert_no_fragment(channels: dict[str, str]) -> None:
    found = {name: fragments(text) for name, text in channels.items() if fragments(text)}
    assert found == {}, found


# --------------------------------------------------------------------------- pure: every cut


secret_text = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/="),
    min_size=FRAGMENT,
    max_size=48,
)


@settings(max_examples=300, deadline=None)
@given(
    secret=secret_text,
    before=st.text(max_size=260),
    after=st.text(max_size=40),
    piece=st.tuples(st.integers(0, 48), st.integers(0, 48)),
    limit=st.one_of(st.none(), st.integers(2, 320)),
)
def test_no_eight_characters_of_a_secret_survive_redact_line(secret, before, after, piece, limit):
    from gate.core.redact import redact_line  # noqa: PLC0415

    start, stop = sorted(piece)
    shown = secret[start:stop] if stop - start >= FRAGMENT else secret
    line = redact_line(before + shown + after, [secret], limit=limit)
    assert fragments(line, (secret,)) == []
    if limit is not None:
        assert len(line) <= limit


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"cut here: {KEY[:20]}…", "cut here: ***…"),  # the start of a key at a cut
        (f"{KEY[-9:]} was the end", "*** was the end"),  # the end of a key
        (f"x{KEY[5:13]}y", "x***y"),  # 8 characters from its middle
        (f"{KEY[:7]} and {KEY[9:16]}", f"{KEY[:7]} and {KEY[9:16]}"),  # 7: innocent enough
        (f"twice {KEY}{KEY} glued", "twice *** glued"),
        (f"url ?api_key={GH_TOKEN[:12]}%", "url ?api_key=***%"),
    ],
)
def test_redact_masks_every_run_sharing_eight_characters_with_a_secret(text, shown):
    from gate.core.redact import redact  # noqa: PLC0415

    assert redact(text, SECRETS) == shown


def test_every_run_of_eight_or_more_characters_of_a_secret_is_masked_wherever_it_starts():
    from gate.core.redact import redact  # noqa: PLC0415

    for secret in SECRETS:
        for start in range(len(secret)):
            for stop in range(start + FRAGMENT, len(secret) + 1):
                text = f"<{secret[start:stop]}>"
                assert redact(text, SECRETS) == "<***>", (secret, start, stop)


def test_a_body_cut_by_a_byte_cap_ending_in_a_key_s_first_characters_is_masked():
    from gate.core.redact import redact  # noqa: PLC0415

    body = ("x" * (64 * 1024 - 11) + KEY).encode()[: 64 * 1024]
    assert redact(body.decode(), [KEY]).endswith("x***")


def _roboflow_error(message: str, shape: str) -> tuple[bytes, dict[str, str]]:
    if shape == "json":
        return json.dumps({"error": "unauthenticated", "message": message}).encode(), {}
    if shape == "nested":
        return json.dumps({"error": {"message": message, "type": "AuthError"}}).encode(), {}
    return message.encode(), {"Content-Type": "text/plain"}


def _answering(status: int, body: bytes, headers: dict[str, str]) -> MockTransport:
    async def handler(request: Request) -> RawResponse:
        del request
        return RawResponse(status, headers, body)

    return MockTransport(handler)


@pytest.mark.parametrize("shape", ["json", "nested", "text"])
@pytest.mark.parametrize("status", [401, 404, 500])
async def test_an_echoed_key_never_survives_the_cut_of_a_roboflow_error_at_any_position(
    shape, status
):
    for at in range(ROBOFLOW_CUT + 10):
        body, headers = _roboflow_error("x" * at + KEY + " was refused", shape)
        client = RoboflowClient(
            _answering(status, body, headers),
            api_key=KEY,
            workspace="ws",
            api_url="https://api.roboflow.test",
            retry=RetryPolicy(attempts=1),
        )
        with pytest.raises(RoboflowError) as caught:
            await client.map_results("e1")
        assert fragments(str(caught.value)) == [], (at, str(caught.value))


@pytest.mark.parametrize("status", [403, 404, 422, 500])
async def test_an_echoed_token_never_survives_the_cut_of_a_github_error_at_any_position(status):
    for at in range(GITHUB_CUT + 10):
        body = json.dumps(
            {"message": "x" * at + GH_TOKEN + " is not valid", "errors": [{"code": "custom"}]}
        ).encode()
        client = GitHubClient(
            _answering(status, body, {}),
            token=GH_TOKEN,
            api_url="https://api.github.test",
            retry=RetryPolicy(attempts=1),
        )
        with pytest.raises(GitHubError) as caught:
            await client.create_comment(REPO, PR, "the report")
        assert fragments(str(caught.value)) == [], (at, str(caught.value))


# --------------------------------------------------------------------------- the faces


@contextlib.contextmanager
def serving(*apps: web.Application) -> Iterator[list[str]]:
    """Each app served on 127.0.0.1 from a thread of its own (the faces run their own event
    loops in the test's thread); their base URLs."""
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []
    urls: list[str] = []

    async def start() -> None:
        for app in apps:
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            port = runner.addresses[0][1]
            urls.append(f"http://127.0.0.1:{port}")

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield urls
    finally:
        for runner in runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass(frozen=True)
class Echo:
    """Where a server echoes the credential: `before` characters ahead of it, in a body of
    `shape`, answering `status`."""

    before: int
    shape: str
    status: int

    def roboflow(self) -> Scripted:
        message = "x" * self.before + ECHO + " was refused"
        if self.shape == "text":
            return Scripted(self.status, message, headers={"Content-Type": "text/plain"})
        if self.shape == "nested":
            return Scripted(self.status, {"error": {"message": message, "type": "AuthError"}})
        return Scripted(self.status, {"error": "unauthenticated", "message": message})

    def github(self) -> Fault:
        message = "x" * self.before + ECHO + " is not valid"
        if self.shape == "text":
            return Fault(self.status, message)
        return Fault(self.status, {"message": message, "documentation_url": "https://docs"})


def echoes(secret: str, cut: int, statuses: list[int]) -> st.SearchStrategy[Echo]:
    """The echo: mostly with the cut falling `c` characters into the secret (any c), else
    anywhere in the first 400 characters (the other cuts: status, title, one line)."""
    head = {"json": len("unauthenticated: "), "nested": 0, "text": 0}
    shapes = st.sampled_from(["json", "nested", "text"])

    def at_the_cut(shape: str, c: int) -> int:
        return max(cut - 1 - head[shape] - c, 0)

    aligned = st.builds(
        lambda shape, c, status: Echo(at_the_cut(shape, c), shape, status),
        shapes,
        st.integers(0, len(secret)),
        st.sampled_from(statuses),
    )
    anywhere = st.builds(Echo, st.integers(0, 400), shapes, st.sampled_from(statuses))
    return st.one_of(aligned, aligned, aligned, anywhere)


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=KEY, workspace="ws")
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.85}))
    return standin


def _cli(argv: list[str], environ: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    from gate.cli.main import run  # noqa: PLC0415

    out, err = io.StringIO(), io.StringIO()
    code = run(argv, environ=environ, cwd=cwd, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@EXAMPLES
@given(
    echo=echoes(KEY, ROBOFLOW_CUT, [400, 401, 403, 404]),
    where=st.sampled_from(["map-results", "info", "confusion-matrix"]),
    fmt=st.sampled_from(["console", "json"]),
)
def test_no_piece_of_the_key_reaches_any_channel_of_the_cli(roboflow, echo, where, fmt):
    roboflow.clear_scripts()
    roboflow.script(where, [echo.roboflow()] * 4)
    with serving(roboflow.app()) as (url,), tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "eval-gate.yml").write_text(CONFIG)
        environ = {"ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
        files = ["--report", "r.md", "--json", "g.json", "--junit", "j.xml"]
        argv = ["check", "--eval", "e1", *files, "--log-format", fmt, "--log-level", "debug"]
        code, out, err = _cli(argv, environ, cwd)
        structlog.reset_defaults()
        assert code in (0, 1, 3), err
        written = {p.name: p.read_text() for p in cwd.iterdir()}
    assert any(r.endpoint == where for r in roboflow.requests)
    assert_no_fragment({"stdout": out, "stderr": err, **written})


@EXAMPLES
@given(echo=echoes(KEY, ROBOFLOW_CUT, [400, 401, 403, 404]), header=st.booleans())
def test_no_piece_of_a_key_or_token_reaches_the_service_s_answers_or_logs(roboflow, echo, header):
    from gate.server.app import configure_server_logging, create_app  # noqa: PLC0415
    from gate.server.settings import ServerSettings  # noqa: PLC0415

    roboflow.clear_scripts()
    roboflow.script("map-results", [echo.roboflow()])
    stream = io.StringIO()
    configure_server_logging(stream, fmt="json", level="debug", secrets=(BEARER, KEY))
    try:
        with serving(roboflow.app()) as (url,):
            app = create_app(
                ServerSettings(
                    host="127.0.0.1",
                    port=0,
                    tokens=(BEARER,),
                    roboflow_api_key=None if header else KEY,
                    api_url=url,
                    request_deadline=20.0,
                    grace=1.0,
                )
            )
            with serving(app) as (service,):
                headers = {"Authorization": f"Bearer {BEARER}"}
                if header:
                    headers["X-Roboflow-Api-Key"] = KEY
                answers = asyncio.run(_post(f"{service}/v1/gate", headers))
    finally:
        structlog.reset_defaults()
    assert answers[0][0] == 422, answers
    channels = {f"answer {i}": f"{status} {text}" for i, (status, text) in enumerate(answers)}
    assert_no_fragment({**channels, "log": stream.getvalue()})


async def _post(url: str, headers: dict[str, str]) -> list[tuple[int, str]]:
    import aiohttp  # noqa: PLC0415

    body = {"config": CONFIG, "evals": ["e1"]}
    answers = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):  # the second is not remembered: an error is never cached
            async with session.post(url, json=body, headers=headers) as resp:
                answers.append((resp.status, await resp.text()))
    return answers


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(REPO, PR, head_sha=PR_HEAD)
    return standin


GITHUB_FAULTS = ["create-check-run", "create-comment", "list-comments", "create-status"]


@dataclass(frozen=True)
class ActionEcho:
    """Which server echoes: Roboflow on the map-results (the gate cannot run), or GitHub on
    one `operation` (the gate runs; posting fails)."""

    echo: Echo
    operation: str | None = None  # None: Roboflow echoes the key


action_echoes = st.one_of(
    st.builds(ActionEcho, echoes(KEY, ROBOFLOW_CUT, [401, 403, 404])),
    st.builds(ActionEcho, echoes(GH_TOKEN, GITHUB_CUT, [404, 422]), st.sampled_from(GITHUB_FAULTS)),
)


@EXAMPLES
@given(case=action_echoes)
def test_no_piece_of_the_key_or_token_reaches_any_channel_of_the_action(roboflow, github, case):
    from gate.action.main import run  # noqa: PLC0415

    roboflow.clear_scripts()
    github.clear_faults()
    if case.operation is None:
        roboflow.script("map-results", [case.echo.roboflow()])
    else:
        github.fail(case.operation, case.echo.github())
    with (
        serving(roboflow.app(), github.app()) as (rf_url, gh_url),
        tempfile.TemporaryDirectory() as folder,
    ):
        root = Path(folder)
        workspace = root / "workspace"
        (workspace / ".github").mkdir(parents=True)
        (workspace / ".github/eval-gate.yml").write_text(CONFIG)
        output, summary = root / "output.txt", root / "summary.md"
        output.write_text("")
        summary.write_text("")
        environ = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.opened.json"),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": gh_url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "1658821493",
            "GITHUB_SHA": PR_HEAD,
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "INPUT_API-KEY": KEY,
            "INPUT_GITHUB-TOKEN": GH_TOKEN,
            "INPUT_API-URL": rf_url,
            "INPUT_EVAL-IDS": "e1",
            "INPUT_CONFIG": ".github/eval-gate.yml",
            "INPUT_CONFIG-FROM": "workspace",
            "INPUT_COMMENT": "update",
            "INPUT_COMMIT-STATUS": "true",
            "INPUT_CHECK-RUN": "true",
            "INPUT_WAIT": "30",
        }
        out, err = io.StringIO(), io.StringIO()
        handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            code = run(environ=environ, cwd=root, out=out, err=err)
        finally:
            structlog.reset_defaults()
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        files = {
            str(p.relative_to(root)): p.read_text(errors="replace")
            for p in root.rglob("*")
            if p.is_file()
        }
    assert code in (0, 3), err
    shown = "\n".join(ln for ln in out.getvalue().splitlines() if not ln.startswith("::add-mask::"))
    outputs = parse_runner_output_file(files.pop("output.txt"))
    sent = {
        f"{r.method} {r.path} #{i}": (r.body or "") + r.query_string
        for i, r in enumerate(github.requests)
    }
    assert_no_fragment(
        {"stdout": shown, "stderr": err.getvalue(), "outputs": json.dumps(outputs), **files} | sent
    )
    assert github.count("create-check-run") == 1
