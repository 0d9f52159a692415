"""The service as a GitHub App (`gate.github.app.GitHubApp`) against the GitHub stand-in, which
checks its JWTs for real and refuses an installation token once it has expired; the App's
clock and the stand-in's are one fake clock, so an hour passes in no time."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from gate.core.errors import UsageError
from gate.github.api import GitHubBadResponse, GitHubError, GitHubServerError, GitHubUnauthorized
from gate.github.app import GitHubApp
from gate.github.app_api import APP_HINTS, AppNotInstalled
from gate.github.app_jwt import JWT_BACKDATE, JWT_LIFETIME, JwtSigner, app_jwt
from gate.github.app_key import AppAuth
from gate.github.client import GitHubClient
from gate.github.credentials import GitHubCredentials
from gate.github.publish import Gated, Target, report_gate
from gate.http.retry import RetryPolicy, sleepless
from tests.github_app_standin import FakeClock, StandInApp, pem_of
from tests.github_standin import Fault, GitHubStandIn, server_error, slow
from tests.standin_base import ECHO

APP_ID = 4242
REPO = "octo-org/octo-repo"
PR = 7
HOUR = 3600.0


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
    fake.add_pull(REPO, PR)
    yield fake
    assert fake.violations == []


@pytest.fixture
def api_url(server):
    return f"http://{server.host}:{server.port}"


@pytest.fixture
def make_app(api_url, session, app_private_key, clock):
    def make(key=None, app_id=APP_ID, **overrides):
        options = {
            "api_url": api_url,
            "clock": clock,
            "timeout": 5.0,
            "retry": RetryPolicy(attempts=3, base=0.01, cap=0.02),
        }
        options.update(overrides)
        return GitHubApp(AppAuth(app_id, key or app_private_key), session, **options)

    return make


@pytest.fixture
def client_with(api_url, session):
    def make(token: str) -> GitHubClient:
        return GitHubClient(session, token=token, api_url=api_url, retry=RetryPolicy(attempts=1))

    return make


def mints(standin: GitHubStandIn) -> int:
    return standin.count("create-token")


async def until(condition) -> None:
    """Wait (at most 10 s) until `condition()` holds: a condition, not a fixed sleep."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the condition is the stand-in's request log
            await asyncio.sleep(0.005)


def lookups(standin: GitHubStandIn) -> int:
    return standin.count("get-installation")


# --------------------------------------------------------------------------- the JWT


def test_the_jwt_is_rs256_issued_a_minute_back_ten_minutes_long_by_the_app(app_private_key):
    made = app_jwt(AppAuth(APP_ID, app_private_key), now=1_800_000_000.7)
    assert jwt.get_unverified_header(made.token)["alg"] == "RS256"
    claims = jwt.decode(
        made.token,
        app_private_key.public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {"iat": 1_800_000_000 - 60, "exp": 1_800_000_000 + 540, "iss": str(APP_ID)}
    assert claims["exp"] - claims["iat"] == JWT_LIFETIME == 600
    assert made.expires_at == claims["exp"]
    assert JWT_BACKDATE == 60


def test_a_jwt_is_reused_until_a_minute_before_it_expires(app_private_key, clock):
    signer = JwtSigner(AppAuth(APP_ID, app_private_key), clock)
    first = signer.current()
    clock.advance(JWT_LIFETIME - JWT_BACKDATE - 61)  # 7 min 59 s later: still 61 s left
    assert signer.current() is first
    clock.advance(1)
    renewed = signer.current()
    assert renewed.token != first.token and signer.signed == 2
    assert "eyJ" not in repr(signer) and "eyJ" not in repr(renewed)


async def test_jwts_are_renewed_as_time_passes_and_github_takes_each(
    make_app, standin, github_app, clock
):
    app = make_app()
    await app.token_for(REPO)
    for _ in range(6):  # an hour and a half, a token request every 15 minutes
        clock.advance(900)
        app.drop_token(await app.installation_id(REPO))
        await app.token_for(REPO)
    assert github_app.refused == []
    assert len({(c["iat"], c["exp"]) for c in github_app.jwts}) == app.jwts_signed == 7


# --------------------------------------------------------------------------- tokens


async def test_a_repository_s_token_comes_from_its_installation_and_works_on_github(
    make_app, standin, github_app, client_with, clock
):
    app = make_app()
    token = await app.token_for(REPO)
    assert token in github_app.tokens
    assert github_app.tokens[token].installation_id == github_app.installation_of(REPO)
    assert (lookups(standin), mints(standin)) == (1, 1)
    assert github_app.jwts[0]["iat"] == int(clock()) - 60
    assert await client_with(token).pull_base_sha(REPO, PR) == "b" * 40
    assert isinstance(app, GitHubCredentials)


async def test_the_token_is_reused_until_five_minutes_before_it_expires(make_app, standin, clock):
    app = make_app()
    first = await app.token_for(REPO)
    clock.advance(HOUR - 300 - 1)  # 54 min 59 s: still fresh
    assert await app.token_for(REPO) == first
    assert await app.token_for(REPO.upper()) == first  # names are case-insensitive
    assert mints(standin) == 1
    clock.advance(1)  # 55 min: renewed
    second = await app.token_for(REPO)
    assert second != first
    assert (lookups(standin), mints(standin)) == (1, 2)


async def test_an_expired_token_is_refused_by_github_and_the_app_brings_a_fresh_one(
    make_app, standin, github_app, client_with, clock
):
    """Refresh proven, not assumed: the stand-in refuses the hour-old token (401); the
    App's next answer is a new token that GitHub takes."""
    app = make_app()
    old = await app.token_for(REPO)
    clock.advance(HOUR)
    with pytest.raises(GitHubUnauthorized):
        await client_with(old).pull_base_sha(REPO, PR)
    assert github_app.expired_refused == 1
    fresh = await app.token_for(REPO)
    assert fresh != old
    assert await client_with(fresh).pull_base_sha(REPO, PR) == "b" * 40
    assert github_app.expired_refused == 1


async def test_a_token_github_refuses_is_dropped_and_the_next_call_mints_one(make_app, standin):
    app = make_app()
    token = await app.token_for(REPO)
    app.token_refused(REPO, "ghs_someone_else_s_token")
    assert await app.token_for(REPO) == token  # not ours: nothing dropped
    app.token_refused(REPO, token)
    assert await app.token_for(REPO) != token
    assert mints(standin) == 2


async def test_200_concurrent_calls_send_one_lookup_and_one_token_request(make_app, standin):
    app = make_app()
    tokens = await asyncio.gather(*(app.token_for(REPO) for _ in range(200)))
    assert len(set(tokens)) == 1
    assert (lookups(standin), mints(standin)) == (1, 1)
    assert (app.lookups_started, app.mints_started) == (1, 1)


async def test_200_concurrent_calls_over_20_repositories_of_one_installation_mint_one_token(
    make_app, standin, github_app
):
    repos = [f"octo-org/repo-{n}" for n in range(20)]
    installation = github_app.install(*repos)
    for repo in repos:
        standin.add_repo(repo)
    app = make_app()
    tokens = await asyncio.gather(*(app.token_for(repos[n % 20]) for n in range(200)))
    assert len(set(tokens)) == 1
    assert github_app.tokens[tokens[0]].installation_id == installation
    assert (lookups(standin), mints(standin)) == (20, 1)


async def test_200_concurrent_calls_when_the_token_is_due_renew_it_once(make_app, standin, clock):
    app = make_app()
    first = await app.token_for(REPO)
    clock.advance(HOUR - 200)
    tokens = await asyncio.gather(*(app.token_for(REPO) for _ in range(200)))
    assert len(set(tokens)) == 1 and tokens[0] != first
    assert mints(standin) == 2


async def test_a_failed_token_request_reaches_every_waiting_caller_and_is_not_remembered(
    make_app, standin
):
    app = make_app()
    standin.fail("create-token", server_error(502), server_error(502), server_error(502))
    with sleepless():
        results = await asyncio.gather(
            *(app.token_for(REPO) for _ in range(50)), return_exceptions=True
        )
    assert all(isinstance(r, GitHubServerError) for r in results)
    assert mints(standin) == 3  # one flight, its three tries
    assert isinstance(await app.token_for(REPO), str)
    assert mints(standin) == 4


async def test_a_caller_cancelled_while_waiting_leaves_the_token_to_the_others(make_app, standin):
    app = make_app()
    standin.fail("create-token", slow(0.3))
    first = asyncio.create_task(app.token_for(REPO))
    second = asyncio.create_task(app.token_for(REPO))
    await until(lambda: mints(standin) == 1)  # the one flight is at GitHub, both wait on it
    first.cancel()
    token = await second
    assert first.cancelled()
    assert await app.token_for(REPO) == token  # remembered, though its first caller left
    assert mints(standin) == 1


async def test_a_token_asked_for_before_an_invalidation_is_not_remembered(make_app, standin):
    app = make_app()
    installation = await app.installation_id(REPO)
    standin.fail("create-token", slow(0.3))
    waiting = asyncio.create_task(app.token_for(REPO))
    await until(lambda: mints(standin) == 1)  # asked for before the invalidation
    app.drop_token(installation)  # e.g. the installation changed meanwhile
    old = await waiting  # its caller still gets an answer
    assert await app.token_for(REPO) != old
    assert mints(standin) == 2


# --------------------------------------------------------------------------- installations


async def test_a_repository_without_the_app_is_an_error_saying_how_to_install_it(make_app, standin):
    standin.add_repo("octo-org/other")
    with pytest.raises(AppNotInstalled) as caught:
        await make_app().token_for("octo-org/other")
    assert str(caught.value) == (
        "the GitHub App is not installed on octo-org/other; install it there (the App's page on "
        "GitHub, Install App, then the account, then Repository access: add octo-org/other), or "
        "serve with EVAL_GATE_GITHUB_TOKEN instead"
    )
    assert caught.value.status == 404 and not caught.value.retryable
    assert mints(standin) == 0


async def test_an_installation_deleted_since_it_was_looked_up_is_looked_up_again(
    make_app, standin, github_app, clock
):
    app = make_app()
    await app.token_for(REPO)
    old = github_app.installation_of(REPO)
    github_app.uninstall(old)
    new = github_app.install(REPO)  # installed again: a new installation
    clock.advance(HOUR)
    token = await app.token_for(REPO)  # minting for the old one is a 404: look again
    assert github_app.tokens[token].installation_id == new
    assert await app.installation_id(REPO) == new
    assert (lookups(standin), mints(standin)) == (2, 3)


async def test_an_uninstalled_app_ends_in_app_not_installed_after_one_more_look(
    make_app, standin, github_app, clock
):
    app = make_app()
    await app.token_for(REPO)
    github_app.uninstall(github_app.installation_of(REPO))
    clock.advance(HOUR)
    callers = await asyncio.gather(
        *(app.token_for(REPO) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(c, AppNotInstalled) for c in callers)
    assert (lookups(standin), mints(standin)) == (2, 2)  # one more look for all 20 callers


async def test_forgetting_an_installation_drops_its_token_and_its_repositories(
    make_app, standin, github_app
):
    app = make_app()
    first = await app.token_for(REPO)
    app.forget_installation(github_app.installation_of(REPO))
    assert await app.token_for(REPO) != first
    assert (lookups(standin), mints(standin)) == (2, 2)


async def test_dropping_a_token_keeps_the_repository_s_installation(make_app, standin, github_app):
    app = make_app()
    first = await app.token_for(REPO)
    app.drop_token(github_app.installation_of(REPO))
    assert await app.token_for(REPO) != first
    assert (lookups(standin), mints(standin)) == (1, 2)


async def test_repositories_removed_from_an_installation_are_looked_up_again(
    make_app, standin, github_app
):
    app = make_app()
    installation = github_app.installation_of(REPO)
    await app.token_for(REPO)
    github_app.remove(installation, REPO)
    app.forget_repositories(installation, [REPO, "not a repository"])
    with pytest.raises(AppNotInstalled):
        await app.token_for(REPO)
    assert (lookups(standin), mints(standin)) == (2, 1)


async def test_the_repository_map_is_bounded(make_app, standin, github_app):
    repos = [f"octo-org/repo-{n}" for n in range(3)]
    github_app.install(*repos)
    app = make_app(max_repositories=2)
    for repo in repos:
        await app.token_for(repo)
    await app.token_for(repos[2])  # the newest two are remembered
    await app.token_for(repos[1])
    assert lookups(standin) == 3
    await app.token_for(repos[0])  # the oldest was let go: asked again
    assert lookups(standin) == 4
    assert "repositories=2" in repr(app)


async def test_the_token_map_is_bounded(make_app, standin, github_app):
    github_app.install("octo-org/second")
    app = make_app(max_installations=1)
    await app.token_for(REPO)
    await app.token_for("octo-org/second")
    await app.token_for("octo-org/second")
    assert mints(standin) == 2
    await app.token_for(REPO)  # the first installation's token was let go
    assert mints(standin) == 3


# --------------------------------------------------------------------------- identity


async def test_the_app_comments_as_its_bot_login_asked_of_github_once(make_app, standin):
    app = make_app()
    authors = await asyncio.gather(*(app.comment_author(REPO) for _ in range(20)))
    assert set(authors) == {"eval-gate[bot]"}
    assert (await app.identity()).id == APP_ID
    assert standin.count("get-app") == 1


async def publish_twice(api_url, session, token, author):
    target = Target(repository=REPO, pr_number=PR, sha=None, gate_id="detector")
    for _ in range(2):
        await report_gate(
            session,
            token=token,
            api_url=api_url,
            target=target,
            gated=Gated(outcome=None, error=UsageError("no evaluation to gate")),
            title="eval-gate",
            full_report_hint=None,
            author=author,
        )


async def test_the_sticky_comment_posted_with_an_installation_token_is_updated(
    make_app, standin, api_url, session
):
    app = make_app()
    token = await app.token_for(REPO)
    await publish_twice(api_url, session, token, await app.comment_author(REPO))
    comments = standin.comments_on(REPO, PR)
    assert [c.login for c in comments] == ["eval-gate[bot]"]
    assert standin.count("update-comment") == 1


async def test_without_the_app_s_login_its_comments_are_not_found_the_control(
    make_app, standin, api_url, session
):
    """The control: GET /user is 403 for an installation token, so the comment path takes
    the token for the job's (`github-actions[bot]`) and never finds its own comment."""
    token = await make_app().token_for(REPO)
    await publish_twice(api_url, session, token, None)
    assert [c.login for c in standin.comments_on(REPO, PR)] == ["eval-gate[bot]"] * 2


# --------------------------------------------------------------------------- refusals


async def test_a_key_github_does_not_know_is_a_401_that_says_what_to_check(
    make_app, standin, github_app
):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(GitHubUnauthorized) as caught:
        await make_app(key=other).token_for(REPO)
    assert str(caught.value) == (
        "finding the GitHub App's installation on octo-org/octo-repo: HTTP 401 (A JSON web "
        f"token could not be decoded (InvalidSignatureError)): {APP_HINTS[401]}"
    )
    with pytest.raises(GitHubUnauthorized, match="check EVAL_GATE_GITHUB_APP_ID"):
        await make_app(app_id=APP_ID + 1).identity()


def test_an_api_url_that_cannot_be_one_is_refused_at_once(app_private_key):
    with pytest.raises(Exception, match="check EVAL_GATE_GITHUB_API_URL"):
        GitHubApp(AppAuth(APP_ID, app_private_key), object(), api_url="ftp://x")


# --------------------------------------------------------------------------- secrets

FRAGMENT = 8


def shown(text: str, secret: str) -> list[str]:
    """The runs of FRAGMENT characters of `secret` found in `text`."""
    pieces = {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}
    return [
        text[i : i + FRAGMENT]
        for i in range(len(text) - FRAGMENT + 1)
        if text[i : i + FRAGMENT] in pieces
    ]


def echo(status: int) -> Fault:
    """GitHub echoing the credential the request carried (a careless server)."""
    return Fault(status, {"message": f"bad credential {ECHO} (that one: {ECHO})"})


async def test_no_piece_of_the_key_a_jwt_or_a_token_is_in_any_error_or_log_line(
    make_app, standin, github_app, app_private_key, clock
):
    app = make_app()
    errors: list[str] = []
    jwts: set[str] = set()

    def collect_jwts() -> None:
        for request in standin.requests:
            credential = (request.header("Authorization") or " ").split(" ", 1)[1]
            if credential.count(".") == 2:
                jwts.add(credential)

    with capture_logs() as logs, sleepless():
        for operation, fault in [
            ("get-app", echo(500)),
            ("get-app", echo(401)),
            ("get-installation", echo(403)),
            ("get-installation", echo(404)),
            ("create-token", echo(401)),
            ("create-token", echo(403)),
            ("create-token", echo(422)),
        ]:
            collect_jwts()
            standin.clear_faults()
            standin.fail(operation, *[fault] * 3)
            app.forget_installation(github_app.installation_of(REPO))
            try:
                await (app.identity() if operation == "get-app" else app.token_for(REPO))
            except GitHubError as error:
                errors.append(f"{type(error).__name__}: {error}")
        # a token GitHub sent back unusable: its expiry not a time, the token beside it
        collect_jwts()
        standin.clear_faults()
        standin.fail(
            "create-token",
            *[Fault(201, {"token": "ghs_Tok3nTheAppMustNotShow", "expires_at": "soon"})] * 3,
        )
        with pytest.raises(GitHubBadResponse) as caught:
            await app.token_for(REPO)
        errors.append(str(caught.value))
        collect_jwts()
        standin.clear_faults()
        tokens = [await app.token_for(REPO)]
        clock.advance(HOUR)
        tokens.append(await app.token_for(REPO))
        collect_jwts()
    assert len(errors) == 8 and all("\n" not in e for e in errors)
    assert len(jwts) == app.jwts_signed == 2  # the clock moved an hour: a second JWT
    text = "\n".join([*errors, *map(repr, logs), repr(app)])
    key = pem_of(app_private_key).decode()
    secrets = [*jwts, *tokens, "ghs_Tok3nTheAppMustNotShow", key.replace("\n", ""), key]
    assert [shown(text, s) for s in secrets] == [[]] * len(secrets)
    # the echoes were there, masked: GitHub's text is shown, the credential is not
    assert sum("bad credential *** (that one: ***)" in e for e in errors) == 6
