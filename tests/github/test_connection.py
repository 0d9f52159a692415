"""One GitHub connection for a run (gate.github.connection): one client, one session of its own
opened at the first request and closed once, a refused token reported the same way each time."""

from __future__ import annotations

import pytest

from gate.github.api import GitHubError, GitHubTransportError
from gate.github.connection import GitHubConnection
from gate.http.mock import MockTransport
from gate.http.transport import RawResponse, Request
from tests.github_standin import GitHubStandIn

TOKEN = "ghs_C0nnecti0n/T0ken+x"
REPO = "octo-org/octo-repo"


def answer_user(request: Request) -> RawResponse:
    return RawResponse(200, {"Content-Type": "application/json"}, b'{"login": "octocat"}')


async def test_every_ask_gets_the_one_client_on_the_one_transport():
    transport = MockTransport(answer_user)
    github = GitHubConnection(token=TOKEN, api_url="https://api.example.test/", transport=transport)
    first = github.client()
    assert github.client() is first
    assert await first.authenticated_login() == "octocat"
    assert await github.client().authenticated_login() == "octocat"
    assert [r.url for r in transport.requests] == ["https://api.example.test/user"] * 2
    assert github.sessions_opened == 0  # the caller's transport: none of its own


@pytest.mark.parametrize(
    ("token", "api_url", "says"),
    [
        ("ghs_two words", "https://api.github.com", "the GitHub token contains spaces"),
        ("", "https://api.github.com", "the GitHub token is empty"),
        (TOKEN, "ftp://api.github.com", "GitHub API URL"),
    ],
)
def test_a_refused_token_or_url_raises_the_same_error_every_time_never_the_token(
    token, api_url, says
):
    github = GitHubConnection(token=token, api_url=api_url, transport=MockTransport(answer_user))
    with pytest.raises(GitHubError, match=says) as first:
        github.client()
    with pytest.raises(GitHubError, match=says) as second:
        github.client()
    assert str(first.value) == str(second.value)
    assert "words" not in str(first.value)
    assert TOKEN not in str(first.value)
    assert TOKEN not in repr(github)


async def test_its_own_session_opens_at_the_first_request_once_and_closes_once(aiohttp_server):
    standin = GitHubStandIn(token=TOKEN, user_readable=True)
    server = await aiohttp_server(standin.app())
    github = GitHubConnection(token=TOKEN, api_url=f"http://{server.host}:{server.port}")
    client = github.client()
    assert github.sessions_opened == 0  # nothing sent yet: no session
    await client.authenticated_login()
    await client.authenticated_login()
    await github.client().authenticated_login()
    assert github.sessions_opened == 1
    assert standin.count("get-user") == 3
    await github.aclose()
    with pytest.raises(GitHubTransportError, match="the session is closed"):
        await client.authenticated_login()
    assert github.sessions_opened == 1  # closed: a late request opens no other
    assert standin.count("get-user") == 3


async def test_a_connection_that_sent_nothing_opens_and_closes_nothing():
    async with GitHubConnection(token=TOKEN) as github:
        github.client()
    assert github.sessions_opened == 0
