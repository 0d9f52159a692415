"""One interface for the service's GitHub credentials: a static token or the App's."""

from __future__ import annotations

import pytest

from gate.github.api import GitHubError
from gate.github.app import GitHubApp
from gate.github.app_key import AppAuth
from gate.github.credentials import GitHubCredentials, StaticToken, github_credentials
from gate.http import MockTransport, RawResponse

TOKEN = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"


async def test_a_static_token_serves_every_repository_and_asks_github_who_it_is():
    credentials = StaticToken(f"  {TOKEN}\n")
    assert isinstance(credentials, GitHubCredentials)
    assert await credentials.token_for("octo-org/a") == TOKEN
    assert await credentials.token_for("someone/else") == TOKEN
    assert await credentials.comment_author("octo-org/a") is None  # GET /user will say
    credentials.token_refused("octo-org/a", TOKEN)  # nothing to renew
    assert await credentials.token_for("octo-org/a") == TOKEN
    assert repr(credentials) == "StaticToken(token=***)"
    assert credentials.secrets == (TOKEN,)


@pytest.mark.parametrize(
    ("token", "problem"),
    [("", "is empty"), ("   ", "is empty"), ("ghp_with space", "contains spaces")],
)
def test_a_static_token_that_cannot_be_one_is_refused_without_echoing_it(token, problem):
    with pytest.raises(GitHubError) as caught:
        StaticToken(token)
    assert str(caught.value).startswith(f"EVAL_GATE_GITHUB_TOKEN {problem}")
    assert token.strip() == "" or token not in str(caught.value)


def test_the_app_wins_over_a_token_and_nothing_is_none(app_private_key):
    transport = MockTransport(lambda request: RawResponse(500))
    app = github_credentials(app=AppAuth(4242, app_private_key), token=TOKEN, transport=transport)
    assert isinstance(app, GitHubApp) and isinstance(app, GitHubCredentials)
    assert app.app_id == 4242
    token = github_credentials(app=None, token=TOKEN, transport=transport)
    assert isinstance(token, StaticToken)
    assert github_credentials(app=None, token=None, transport=transport) is None
    assert github_credentials(app=None, token="", transport=transport) is None
    assert transport.requests == []  # choosing asks GitHub nothing
