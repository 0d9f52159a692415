"""GitHubClient against the GitHub stand-in on 127.0.0.1 (a real aiohttp server)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from gate import __version__
from gate.github.api import (
    GitHubBadResponse,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubServerError,
    GitHubTransportError,
    GitHubUnauthorized,
    GitHubUnprocessable,
)
from gate.github.client import GitHubClient
from gate.http.retry import RetryPolicy, sleepless
from tests.github_standin import (
    DEFAULT_SHA,
    Fault,
    GitHubStandIn,
    bad_credentials,
    hang,
    leaks,
    not_accessible,
    ok,
    primary_rate_limit,
    secondary_rate_limit,
    server_error,
    too_many_requests,
)

TOKEN = "ghs_Sekr3tT0ken/with+chars"
REPO = "octo-org/octo-repo"
PR = 7


@pytest.fixture
def standin():
    fake = GitHubStandIn(token=TOKEN)
    fake.add_pull(REPO, PR, head_sha=DEFAULT_SHA)
    yield fake
    assert fake.violations == []
    assert leaks(fake, TOKEN) == []


@pytest.fixture
def sleep():
    """Backoff and rate-limit waits are recorded, not slept (gate.http's test switch; jitter
    1.0: the full exponential backoff)."""
    with sleepless(jitter=1.0) as waits:
        yield SimpleNamespace(delays=waits)


@pytest.fixture
def make_client(server, session, sleep):
    def make(**overrides):
        options = {
            "token": TOKEN,
            "api_url": f"http://{server.host}:{server.port}",
            "timeout": 5.0,
            "retry": RetryPolicy(attempts=3, base=0.5, cap=2.0),
        }
        options.update(overrides)
        return GitHubClient(session, **options)

    return make


@pytest.fixture
def client(make_client):
    return make_client()


def assert_token_free(exc: BaseException) -> None:
    text = str(exc) + repr(exc) + " ".join(map(str, exc.args))
    assert TOKEN not in text
    assert "Sekr3t" not in text


# --------------------------------------------------------------------------- basics


async def test_requests_carry_githubs_headers(client, standin):
    await client.create_comment(REPO, PR, "hello")
    (request,) = standin.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert request.headers["User-Agent"] == f"eval-gate/{__version__}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {"body": "hello"}


def test_repr_and_construction_errors_never_show_the_token(session):
    client = GitHubClient(session, token=TOKEN)
    assert TOKEN not in repr(client)
    assert "api.github.com" in repr(client)
    for bad in ("", "   ", "ghs_ab cd", "tök"):
        with pytest.raises(GitHubError, match="GitHub token") as caught:
            GitHubClient(session, token=bad)
        assert "ab cd" not in str(caught.value)
    for url in ("ftp://x", "not a url", "https://user:pw@github.example", "https://h/?q=1"):
        with pytest.raises(GitHubError, match="GITHUB_API_URL") as caught:
            GitHubClient(session, token=TOKEN, api_url=url)
        assert "pw" not in str(caught.value)


async def test_authenticated_login_is_none_for_the_jobs_token(client, standin):
    assert await client.authenticated_login() is None
    assert standin.count("get-user") == 1  # a 403 is an answer, not a reason to retry


async def test_authenticated_login_of_a_personal_token(aiohttp_server, session):
    standin = GitHubStandIn(token=TOKEN, login="alice", user_readable=True)
    server = await aiohttp_server(standin.app())
    client = GitHubClient(session, token=TOKEN, api_url=f"http://{server.host}:{server.port}")
    assert await client.authenticated_login() == "alice"
    assert standin.violations == []


async def test_bad_credentials(make_client, standin):
    client = make_client(token="ghs_wrong_token_1234")
    assert await client.authenticated_login() is None
    with pytest.raises(GitHubUnauthorized, match="Bad credentials") as caught:
        await client.create_comment(REPO, PR, "x")
    assert "ghs_wrong_token_1234" not in str(caught.value)
    assert standin.comments_on(REPO, PR) == []


# --------------------------------------------------------------------------- pagination


async def test_comments_follow_every_page(client, standin):
    seeded = standin.add_comments(REPO, PR, 250, body_fn=lambda i: f"c{i}")
    got = [c async for c in client.comments(REPO, PR)]
    assert [c.id for c in got] == [c.id for c in seeded]
    assert got[0].body == "c0"
    assert got[0].user_login == "octocat"
    assert got[0].user_type == "User"
    assert got[0].html_url.endswith(f"/pull/{PR}#issuecomment-{seeded[0].id}")
    pages = standin.requests_for("list-comments")
    assert len(pages) == 3
    assert pages[0].path == f"/repos/{REPO}/issues/{PR}/comments"
    assert dict(pages[0].query) == {"per_page": "100"}
    # Later pages are GitHub's own Link URLs, followed verbatim.
    assert pages[1].path.startswith("/repositories/")
    assert [dict(p.query).get("page") for p in pages] == [None, "2", "3"]


async def test_a_single_page_and_an_empty_list(client, standin):
    assert [c async for c in client.comments(REPO, PR)] == []
    standin.add_comments(REPO, PR, 100)
    assert len([c async for c in client.comments(REPO, PR)]) == 100
    assert standin.count("list-comments") == 2


async def test_enterprise_base_path(aiohttp_server, session):
    standin = GitHubStandIn(token=TOKEN, base_path="/api/v3")
    standin.add_comments(REPO, PR, 150)
    server = await aiohttp_server(standin.app())
    client = GitHubClient(
        session, token=TOKEN, api_url=f"http://{server.host}:{server.port}/api/v3/"
    )
    assert len([c async for c in client.comments(REPO, PR)]) == 150
    assert all(r.path.startswith("/api/v3/") for r in standin.requests)
    assert len(standin.requests) == 2
    assert standin.violations == []


async def test_next_link_to_another_origin_is_not_followed(aiohttp_server, session, sleep):
    other_hits: list[str] = []

    async def other(request: web.Request) -> web.Response:
        other_hits.append(request.headers.get("Authorization", ""))
        return web.json_response([])

    elsewhere = await aiohttp_server(_single_route_app(other))

    async def first_page(request: web.Request) -> web.Response:
        link = f'<http://{elsewhere.host}:{elsewhere.port}/steal?page=2>; rel="next"'
        return web.json_response([], headers={"Link": link})

    server = await aiohttp_server(_single_route_app(first_page))
    client = GitHubClient(session, token=TOKEN, api_url=f"http://{server.host}:{server.port}")
    with pytest.raises(GitHubBadResponse, match="outside") as caught:
        [c async for c in client.comments(REPO, PR)]
    assert other_hits == []
    assert_token_free(caught.value)


async def test_a_relative_next_link_is_not_followed(aiohttp_server, session):
    async def page(request: web.Request) -> web.Response:
        return web.json_response([], headers={"Link": '</relative?page=2>; rel="next"'})

    server = await aiohttp_server(_single_route_app(page))
    client = GitHubClient(session, token=TOKEN, api_url=f"http://{server.host}:{server.port}")
    with pytest.raises(GitHubBadResponse, match="outside"):
        [c async for c in client.comments(REPO, PR)]


async def test_a_link_loop_stops(aiohttp_server, session):
    hits: list[str] = []

    async def page(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        url = f"http://{request.host}/loop?page=2"
        return web.json_response([], headers={"Link": f'<{url}>; rel="next"'})

    server = await aiohttp_server(_single_route_app(page))
    client = GitHubClient(session, token=TOKEN, api_url=f"http://{server.host}:{server.port}")
    with pytest.raises(GitHubBadResponse, match="repeats a page"):
        [c async for c in client.comments(REPO, PR)]
    assert len(hits) == 2


async def test_page_count_is_bounded(make_client, standin):
    standin.add_comments(REPO, PR, 250)
    client = make_client(max_pages=2)
    seen = []

    async def collect():
        async for comment in client.comments(REPO, PR):
            seen.append(comment)

    with pytest.raises(GitHubBadResponse, match="more than 2 pages"):
        await collect()
    assert len(seen) == 200
    assert standin.count("list-comments") == 2


async def test_unknown_pull_request_is_not_found(client):
    with pytest.raises(GitHubNotFound, match="check the repository and pull request number"):
        [c async for c in client.comments(REPO, 999)]


def _single_route_app(handler) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


# --------------------------------------------------------------------------- writes


async def test_create_and_update_a_comment(client, standin):
    created = await client.create_comment(REPO, PR, "first")
    assert created.body == "first"
    assert created.user_login == "github-actions[bot]"
    assert created.user_type == "Bot"
    assert created.html_url == f"https://github.com/{REPO}/pull/{PR}#issuecomment-{created.id}"
    updated = await client.update_comment(REPO, created.id, "second")
    assert updated.id == created.id
    (stored,) = standin.comments_on(REPO, PR)
    assert stored.body == "second"
    patch = standin.requests_for("update-comment")[0]
    assert patch.method == "PATCH"
    assert patch.path == f"/repos/{REPO}/issues/comments/{created.id}"


async def test_a_body_over_githubs_limit_is_refused_with_422(client, standin):
    with pytest.raises(GitHubUnprocessable, match="body is too long") as caught:
        await client.create_comment(REPO, PR, "x" * 65537)
    assert caught.value.status == 422
    assert standin.count("create-comment") == 1  # 422 is final
    await client.create_comment(REPO, PR, "y" * 65536)  # exactly the limit is fine
    assert len(standin.comments_on(REPO, PR)) == 1


async def test_403_not_accessible_is_not_retried(client, standin, sleep):
    standin.fail("create-comment", not_accessible())
    with pytest.raises(GitHubForbidden) as caught:
        await client.create_comment(REPO, PR, "x")
    assert caught.value.not_accessible
    assert standin.count("create-comment") == 1
    assert sleep.delays == []


async def test_create_status(client, standin):
    await client.create_status(
        REPO,
        DEFAULT_SHA,
        state="failure",
        description="2 of 9 checks failed",
        context="eval-gate/detector",
        target_url="https://github.com/octo-org/octo-repo/actions/runs/1",
    )
    (request,) = standin.requests_for("create-status")
    assert request.json == {
        "state": "failure",
        "description": "2 of 9 checks failed",
        "context": "eval-gate/detector",
        "target_url": "https://github.com/octo-org/octo-repo/actions/runs/1",
    }
    (status,) = standin.statuses_for(REPO, DEFAULT_SHA)
    assert (status.state, status.context) == ("failure", "eval-gate/detector")
    await client.create_status(
        REPO, DEFAULT_SHA, state="success", description="ok", context="c", target_url=None
    )
    assert "target_url" not in standin.requests_for("create-status")[1].json


async def test_create_status_rejects_unknown_states_before_sending(client, standin):
    with pytest.raises(ValueError, match="state must be one of"):
        await client.create_status(
            REPO, DEFAULT_SHA, state="passed", description="", context="c", target_url=None
        )
    assert standin.requests == []


async def test_status_on_an_unknown_commit_is_422(client):
    with pytest.raises(GitHubUnprocessable, match="No commit found"):
        await client.create_status(
            REPO, "f" * 40, state="success", description="ok", context="c", target_url=None
        )


async def test_the_standin_flags_a_too_long_status_description(client, standin):
    with pytest.raises(GitHubUnprocessable, match="description is too long"):
        await client.create_status(
            REPO, DEFAULT_SHA, state="success", description="d" * 141, context="c", target_url=None
        )
    assert len(standin.violations) == 1
    assert "more than 140" in standin.violations[0]
    standin.violations.clear()


async def test_pulls_for_commit_lists_open_pull_requests(client, standin):
    standin.add_pull(REPO, 8, head_sha=DEFAULT_SHA, state="closed")
    standin.add_pull(REPO, 9, head_sha=DEFAULT_SHA)
    standin.add_pull(REPO, 10, head_sha="a" * 40)
    assert await client.pulls_for_commit(REPO, DEFAULT_SHA) == [PR, 9]
    assert dict(standin.requests_for("commit-pulls")[0].query) == {"per_page": "100"}


# --------------------------------------------------------------------------- contents


async def test_file_at_reads_a_file_at_a_commit(client, standin):
    content = "version: 1\nrules:\n  - 'map50 >= 0.8'\n" + "# é\n" * 100  # > one base64 line
    standin.add_file(REPO, ".github/eval-gate.yml", content, ref="a" * 40)
    data = await client.file_at(REPO, ".github/eval-gate.yml", "a" * 40, max_bytes=1 << 20)
    assert data == content.encode()
    (read,) = standin.requests_for("get-content")
    assert read.path == f"/repos/{REPO}/contents/.github/eval-gate.yml"
    assert read.query == (("ref", "a" * 40),)


async def test_file_at_is_none_when_the_commit_has_no_such_file(client, standin):
    standin.add_file(REPO, ".github/eval-gate.yml", "x", ref="a" * 40)
    assert await client.file_at(REPO, ".github/eval-gate.yml", "b" * 40, max_bytes=10) is None
    assert await client.file_at(REPO, "other.yml", "a" * 40, max_bytes=10) is None


async def test_file_at_403_is_an_error_not_a_missing_file(client, standin):
    standin.fail("get-content", not_accessible())
    with pytest.raises(GitHubForbidden) as caught:
        await client.file_at(REPO, ".github/eval-gate.yml", "a" * 40, max_bytes=10)
    assert "HTTP 403" in str(caught.value)


async def test_file_at_refuses_a_file_over_the_cap(client, standin):
    standin.add_file(REPO, "big.yml", "x" * 11, ref="a" * 40)
    with pytest.raises(GitHubBadResponse, match="11 bytes, over the limit of 10"):
        await client.file_at(REPO, "big.yml", "a" * 40, max_bytes=10)


async def test_pull_base_sha(client, standin):
    standin.add_pull(REPO, 12, head_sha="a" * 40, base_sha="C" * 40)
    assert await client.pull_base_sha(REPO, 12) == "c" * 40
    with pytest.raises(GitHubNotFound):
        await client.pull_base_sha(REPO, 13)


@pytest.mark.parametrize(
    ("operation", "read", "needs"),
    [
        ("get-content", "file", "contents: read"),
        ("get-pull", "pull", "pull-requests: read"),
        ("commit-pulls", "pulls", "pull-requests: read"),
    ],
)
async def test_a_403_on_a_read_asks_for_the_permission_that_read_needs_and_no_other(
    client, standin, operation, read, needs
):
    reads = {
        "file": lambda: client.file_at(REPO, ".github/eval-gate.yml", "a" * 40, max_bytes=10),
        "pull": lambda: client.pull_base_sha(REPO, PR),
        "pulls": lambda: client.pulls_for_commit(REPO, DEFAULT_SHA),
    }
    standin.fail(operation, not_accessible())
    with pytest.raises(GitHubForbidden) as caught:
        await reads[read]()
    message = str(caught.value)
    assert f"grant the token `{needs}`" in message
    assert "write" not in message


# --------------------------------------------------------------------------- rate limits


async def test_429_retry_after_is_waited_then_succeeds(client, standin, sleep):
    standin.fail("create-comment", too_many_requests(retry_after=7))
    with capture_logs() as logs:
        created = await client.create_comment(REPO, PR, "x")
    assert created.id
    assert sleep.delays == [7]
    assert standin.count("create-comment") == 2
    assert len(standin.comments_on(REPO, PR)) == 1
    (event,) = [e for e in logs if e["event"] == "github.rate_limited"]
    assert event["wait"] == 7
    assert event["log_level"] == "warning"


async def test_403_secondary_limit_with_retry_after(client, standin, sleep):
    standin.fail("list-comments", secondary_rate_limit(retry_after=12))
    assert [c async for c in client.comments(REPO, PR)] == []
    assert sleep.delays == [12]


async def test_403_secondary_limit_without_retry_after_waits_a_minute(client, standin, sleep):
    standin.fail("update-comment", secondary_rate_limit(retry_after=None))
    comment = standin.add_comment(REPO, PR, "old", author="github-actions[bot]")
    await client.update_comment(REPO, comment.id, "new")
    assert sleep.delays == [60]


async def test_403_with_no_remaining_quota_waits_for_the_reset(client, standin, sleep):
    standin.fail("create-comment", primary_rate_limit(reset_in=20))
    await client.create_comment(REPO, PR, "x")
    (delay,) = sleep.delays
    assert 18 <= delay <= 22


async def test_a_rate_limit_longer_than_allowed_gives_up_without_waiting(client, standin, sleep):
    standin.fail("create-comment", too_many_requests(retry_after=3600))
    with pytest.raises(GitHubRateLimited, match="more than the 60 s this step waits") as caught:
        await client.create_comment(REPO, PR, "x")
    assert sleep.delays == []
    assert caught.value.retry_after == 3600
    assert standin.comments_on(REPO, PR) == []
    assert_token_free(caught.value)


async def test_rate_limit_waits_are_bounded(make_client, standin, sleep):
    client = make_client(max_rate_waits=2)
    standin.fail("create-comment", *[too_many_requests(retry_after=1)] * 5)
    with pytest.raises(GitHubRateLimited, match="still limited after 2 waits"):
        await client.create_comment(REPO, PR, "x")
    assert sleep.delays == [1, 1]
    assert standin.count("create-comment") == 3


async def test_rate_limit_waits_do_not_use_up_retries(client, standin, sleep):
    # attempts=3: two server errors plus a rate limit in between still leave a last try.
    standin.fail(
        "create-comment", server_error(500), too_many_requests(retry_after=2), server_error(503)
    )
    await client.create_comment(REPO, PR, "x")
    assert standin.count("create-comment") == 4
    assert sleep.delays == [0.5, 2, 1.0]


# --------------------------------------------------------------------------- retries


async def test_5xx_is_retried_with_backoff(client, standin, sleep):
    standin.fail("list-comments", server_error(502), server_error(503))
    standin.add_comments(REPO, PR, 2)
    assert len([c async for c in client.comments(REPO, PR)]) == 2
    assert sleep.delays == [0.5, 1.0]  # rand() = 1: the full exponential backoff
    assert standin.count("list-comments") == 3


async def test_5xx_on_a_later_page_is_retried(client, standin, sleep):
    standin.add_comments(REPO, PR, 150)
    standin.fail("list-comments", ok(), server_error(500))
    assert len([c async for c in client.comments(REPO, PR)]) == 150
    assert len(sleep.delays) == 1


async def test_persistent_5xx_gives_up_after_the_policy(client, standin, sleep):
    standin.fail("create-comment", *[server_error(500)] * 5)
    with pytest.raises(GitHubServerError, match="HTTP 500"):
        await client.create_comment(REPO, PR, "x")
    assert standin.count("create-comment") == 3
    assert len(sleep.delays) == 2


async def test_a_hung_read_is_retried(make_client, standin, sleep):
    client = make_client(timeout=0.3)
    standin.fail("list-comments", hang())
    assert [c async for c in client.comments(REPO, PR)] == []
    assert standin.count("list-comments") == 2


async def test_a_hung_create_is_not_retried_to_avoid_a_duplicate(make_client, standin, sleep):
    client = make_client(timeout=0.3)
    standin.fail("create-comment", hang())
    with pytest.raises(GitHubTransportError, match="not retried") as caught:
        await client.create_comment(REPO, PR, "x")
    assert not caught.value.retryable
    assert standin.count("create-comment") == 1
    assert sleep.delays == []


async def test_connection_refused_is_a_transport_error(session, sleep):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GitHubClient(
        session,
        token=TOKEN,
        api_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(attempts=2),
    )
    with pytest.raises(GitHubTransportError, match="cannot connect") as caught:
        await client.create_comment(REPO, PR, "x")  # never sent: safe to retry a POST
    assert len(sleep.delays) == 1
    assert_token_free(caught.value)


# --------------------------------------------------------------------------- secrets


async def test_a_token_echoed_by_the_server_is_scrubbed(client, standin):
    echo = {"message": f"token {TOKEN} is not allowed here"}
    standin.fail("create-comment", Fault(403, echo))
    with pytest.raises(GitHubForbidden) as caught:
        await client.create_comment(REPO, PR, "x")
    assert_token_free(caught.value)
    assert "***" in str(caught.value)


async def test_no_error_ever_shows_the_token(make_client, standin, sleep):
    client = make_client(max_rate_wait=1)
    faults = [
        bad_credentials(),
        not_accessible(),
        too_many_requests(retry_after=100),
        Fault(422, {"message": f"Validation Failed {TOKEN}"}),
        Fault(500, f"<html>{TOKEN}</html>"),
        Fault(500, TOKEN),
        Fault(500, TOKEN),
    ]
    standin.fail("create-comment", *faults)
    caught: list[GitHubError] = []
    for _ in range(5):
        with pytest.raises(GitHubError) as info:
            await client.create_comment(REPO, PR, "x")
        caught.append(info.value)
    assert standin.pending_faults() == 0
    for exc in caught:
        assert_token_free(exc)


# --------------------------------------------------------------------------- the stand-in itself


GOOD_HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": "test",
}


@pytest.mark.parametrize(
    "case",
    [
        ("GET", "/repos/o/r/nope", None, 404, "matches no described path"),
        ("PUT", f"/repos/{REPO}/issues/{PR}/comments", {"body": "x"}, 404, "not described"),
        ("POST", f"/repos/{REPO}/issues/seven/comments", {"body": "x"}, 404, "issue_number"),
        ("POST", f"/repos/{REPO}/issues/{PR}/comments", {}, 422, "required field 'body'"),
        ("POST", f"/repos/{REPO}/issues/{PR}/comments", {"body": 5}, 422, "expected string"),
        ("POST", f"/repos/{REPO}/issues/{PR}/comments", None, 400, "body is required"),
        ("POST", f"/repos/{REPO}/issues/{PR}/comments", [1], 422, "expected object"),
        (
            "POST",
            f"/repos/{REPO}/issues/{PR}/comments",
            {"body": "x", "bdy": "y"},
            422,
            "undescribed field 'bdy'",
        ),
        ("POST", f"/repos/{REPO}/statuses/{DEFAULT_SHA}", {"state": "passed"}, 422, "not one of"),
        (
            "POST",
            f"/repos/{REPO}/statuses/{DEFAULT_SHA}",
            {"state": "success", "description": 3},
            422,
            "description is a integer",
        ),
        ("POST", f"/repos/{REPO}/statuses/{DEFAULT_SHA}", {"context": "c"}, 422, "'state'"),
        ("GET", "/user?per_page=5", None, 403, "query parameter 'per_page' is not described"),
        ("GET", f"/repos/{REPO}/issues/{PR}/comments?page=x", None, 422, "page='x'"),
    ],
)
async def test_the_standin_checks_requests_against_the_description(session, server, standin, case):
    method, path, payload, status, problem = case
    url = f"http://{server.host}:{server.port}{path}"
    async with session.request(method, url, json=payload, headers=GOOD_HEADERS) as resp:
        assert resp.status == status
    assert len(standin.violations) >= 1
    assert any(problem in v for v in standin.violations), standin.violations
    standin.violations.clear()


@pytest.mark.parametrize(
    "case",
    [
        ("User-Agent", {}, 403, "User-Agent"),
        ("Accept", {}, 200, "Accept"),
        ("X-GitHub-Api-Version", {}, 200, "X-GitHub-Api-Version"),
        (None, {"X-GitHub-Api-Version": "2021-01-01"}, 400, "unsupported"),
    ],
)
async def test_the_standin_checks_headers(session, server, standin, case):
    drop, extra, status, problem = case
    headers = {k: v for k, v in GOOD_HEADERS.items() if k != drop} | extra
    url = f"http://{server.host}:{server.port}/repos/{REPO}/issues/{PR}/comments"
    async with session.get(url, headers=headers, skip_auto_headers={"User-Agent"}) as resp:
        assert resp.status == status
    assert any(problem in v for v in standin.violations), standin.violations
    standin.violations.clear()


async def test_the_standin_paginates_like_github(session, server, standin):
    standin.add_comments(REPO, PR, 250)
    url = f"http://{server.host}:{server.port}/repos/{REPO}/issues/{PR}/comments"
    async with session.get(url, params={"per_page": "100", "page": "2"}, headers=GOOD_HEADERS) as r:
        assert r.status == 200
        assert len(await r.json()) == 100
        links = r.headers["Link"]
    origin = f"http://{server.host}:{server.port}"
    assert (
        f'<{origin}/repositories/100001/issues/{PR}/comments?per_page=100&page=1>; rel="prev"'
        in links
    )
    assert (
        f'<{origin}/repositories/100001/issues/{PR}/comments?per_page=100&page=3>; rel="next"'
        in links
    )
    assert 'page=3>; rel="last"' in links
    assert 'page=1>; rel="first"' in links
    async with session.get(url, params={"per_page": "500"}, headers=GOOD_HEADERS) as r:
        assert len(await r.json()) == 100  # per_page is capped at 100, like GitHub
    async with session.get(url, headers=GOOD_HEADERS) as r:
        assert len(await r.json()) == 30  # GitHub's default page size
    async with session.get(url, headers={**GOOD_HEADERS, "Authorization": ""}) as r:
        assert r.status == 401
    assert standin.violations == []


def test_the_standin_knows_its_operations(standin):
    with pytest.raises(ValueError, match="unknown operation"):
        standin.fail("post-comment", ok())
    standin.fail("issues/create-comment", ok())
    standin.fail("create-comment", ok())
    standin.fail("create-status", ok())
    assert standin.pending_faults() == 3
