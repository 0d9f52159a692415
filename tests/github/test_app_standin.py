"""The GitHub stand-in checks an App's JWTs and tokens as GitHub does, so the tests of
`gate.github.app` prove what they claim: a JWT signed by another key, for another App, longer
than 10 minutes, expired or from the future is a 401; an installation token lasts an hour and
reaches its installation's repositories only; a JWT reaches only the App's calls."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gate.github.api import GitHubNotFound, GitHubUnauthorized
from gate.github.client import GitHubClient
from gate.http.retry import RetryPolicy
from tests.github_app_standin import (
    BAD_ISSUER,
    EXP_TOO_FAR,
    EXPIRED,
    IAT_FUTURE,
    NOT_DECODED,
    FakeClock,
    StandInApp,
)
from tests.github_standin import GitHubStandIn

APP_ID = 4242
REPO = "octo-org/octo-repo"
OTHER = "octo-org/elsewhere"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def github_app(app_private_key, clock):
    app = StandInApp(app_private_key.public_key(), app_id=APP_ID, clock=clock)
    app.install(REPO)
    return app


@pytest.fixture
def standin(github_app):
    fake = GitHubStandIn(github_app=github_app)
    fake.add_pull(REPO, 7)
    fake.add_pull(OTHER, 8)
    return fake


@pytest.fixture
def client_with(server, session):
    def make(token: str) -> GitHubClient:
        return GitHubClient(
            session,
            token=token,
            api_url=f"http://{server.host}:{server.port}",
            timeout=5.0,
            retry=RetryPolicy(attempts=1),
        )

    return make


def signed(key, *, iat, exp, iss=str(APP_ID), alg="RS256") -> str:
    return jwt.encode({"iat": iat, "exp": exp, "iss": iss}, key, algorithm=alg)


async def test_a_well_made_jwt_reads_the_app(client_with, app_private_key, clock, github_app):
    now = int(clock())
    identity = await client_with(
        signed(app_private_key, iat=now - 60, exp=now + 540)
    ).app_identity()
    assert (identity.id, identity.slug) == (APP_ID, "eval-gate")
    assert github_app.jwts == [{"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)}]


@pytest.mark.parametrize(
    "case",
    [
        ({"iat": -60, "exp": 541}, EXP_TOO_FAR),  # 601 s long
        ({"iat": -700, "exp": -100}, EXPIRED),
        ({"iat": -600, "exp": 0}, EXPIRED),  # expires this very second
        ({"iat": 30, "exp": 500}, IAT_FUTURE),
        ({"iat": -60, "exp": 540, "iss": "4243"}, BAD_ISSUER),
    ],
    ids=["601 s long", "expired", "expiring now", "from the future", "another App"],
)
async def test_a_jwt_github_would_refuse_is_a_401(
    client_with, app_private_key, clock, github_app, case
):
    claims, refused_as = case
    now = int(clock())
    token = signed(
        app_private_key,
        iat=now + claims["iat"],
        exp=now + claims["exp"],
        iss=claims.get("iss", str(APP_ID)),
    )
    with pytest.raises(GitHubUnauthorized):
        await client_with(token).app_identity()
    assert github_app.refused == [refused_as]
    assert github_app.jwts == []


async def test_a_jwt_signed_by_another_key_is_a_401(client_with, clock, github_app):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(clock())
    with pytest.raises(GitHubUnauthorized):
        await client_with(signed(other, iat=now - 60, exp=now + 540)).repo_installation(REPO)
    assert github_app.refused == [f"{NOT_DECODED} (InvalidSignatureError)"]


async def test_a_jwt_reaches_only_the_app_s_calls(client_with, app_private_key, clock, standin):
    now = int(clock())
    client = client_with(signed(app_private_key, iat=now - 60, exp=now + 540))
    with pytest.raises(GitHubUnauthorized):
        await client.pull_base_sha(REPO, 7)
    assert standin.violations == [
        "GET /repos/octo-org/octo-repo/pulls/7: pulls/get takes a token, not the App's JWT"
    ]
    standin.violations.clear()


async def test_an_installation_token_lasts_an_hour_on_its_installation_s_repositories(
    client_with, app_private_key, clock, github_app, standin
):
    now = int(clock())
    app_client = client_with(signed(app_private_key, iat=now - 60, exp=now + 540))
    installation = await app_client.repo_installation(REPO)
    with pytest.raises(GitHubNotFound):
        await app_client.repo_installation(OTHER)  # not installed there
    token = await app_client.create_installation_token(installation)
    assert token.expires_at.timestamp() == now + 3600
    client = client_with(token.token)
    assert await client.pull_base_sha(REPO, 7) == "b" * 40
    with pytest.raises(GitHubNotFound):
        await client.pull_base_sha(OTHER, 8)  # another installation's (none's) repository
    with pytest.raises(GitHubUnauthorized):
        await client.app_identity()  # a token is not a JWT
    clock.advance(3599)
    assert await client.pull_base_sha(REPO, 7) == "b" * 40
    assert github_app.expired_refused == 0
    clock.advance(1)
    with pytest.raises(GitHubUnauthorized):
        await client.pull_base_sha(REPO, 7)
    assert github_app.expired_refused == 1


async def test_an_installation_token_comments_as_the_app_s_bot(
    client_with, app_private_key, clock, github_app, standin
):
    now = int(clock())
    app_client = client_with(signed(app_private_key, iat=now - 60, exp=now + 540))
    token = await app_client.create_installation_token(await app_client.repo_installation(REPO))
    client = client_with(token.token)
    comment = await client.create_comment(REPO, 7, "hello")
    assert (comment.user_login, comment.user_type) == ("eval-gate[bot]", "Bot")
    assert await client.authenticated_login() is None  # GET /user: 403 for it
