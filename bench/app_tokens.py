"""How many installation-token requests do 1,000 gates of one GitHub App installation cost?

In this process: the GitHub stand-in (`tests/github_standin.py`, with its App side,
`tests/github_app_standin.py`: JWTs checked for real, tokens that expire after an hour) on a
free 127.0.0.1 port, and one `gate.github.app.GitHubApp`, both on one fake clock. 1,000 gates
over 100 repositories of one installation each ask `token_for` (and `comment_author`) every 5
simulated minutes, staggered over the 5 minutes (the gates due at a tick ask together), for
`--runs` simulated hours in 10-second ticks; at every tick the token they got is used for one
real request (`GET .../pulls/N`), which the stand-in refuses once the token has expired. Then a
burst: all 1,000 gates at once when the cached token is past its time. Counts what the stand-in
saw: token requests (`POST /app/installations/{id}/access_tokens`) per hour, installation
lookups, `GET /app`, JWTs signed, refusals; and the CPU a `token_for` costs when the token is
cached. Target: about one token request an hour (at most 1.1 an hour after the first hour, at
most 2 in the first: the first token and its renewal 55 minutes later); no refusal.

    .venv/bin/python bench/app_tokens.py [--runs 3]      # --runs: hours simulated (at least 2)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import time
from dataclasses import dataclass

import aiohttp
import structlog
from _common import REPO, BenchError, Row, bench_main, machine
from aiohttp import web

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from gate.github.api import GitHubError
from gate.github.app import GitHubApp
from gate.github.app_key import AppAuth
from gate.github.client import GitHubClient
from gate.http.retry import RetryPolicy
from tests.github_app_standin import FakeClock, StandInApp, new_private_key
from tests.github_standin import GitHubStandIn

GATES = 1_000
REPOSITORIES = 100
PERIOD = 300.0  # seconds between one gate's token_for calls
TICK = 10.0  # seconds of simulated time a step
HOUR = 3600.0
APP_ID = 4242
TARGET_STEADY = 1.1  # token requests an hour after the first hour
TARGET_FIRST = 2  # in the first hour: the first token and its renewal
HIT_CALLS = 10_000


@dataclass(frozen=True)
class Found:
    calls: int
    per_hour: list[int]  # token requests in each simulated hour
    lookups: int
    get_app: int
    jwts: int
    refused_jwts: int
    expired_refused: int
    violations: int
    burst: int
    hit_us: float
    renewal_every: float  # seconds between two token requests while the gates run


async def simulate(hours: int) -> Found:
    key = new_private_key()
    clock = FakeClock()
    app_side = StandInApp(key.public_key(), app_id=APP_ID, clock=clock)
    repos = [f"octo-org/repo-{n:03d}" for n in range(REPOSITORIES)]
    app_side.install(*repos)
    standin = GitHubStandIn(github_app=app_side)
    for repo in repos:
        standin.add_pull(repo, 1)
    runner = web.AppRunner(standin.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    api_url = f"http://127.0.0.1:{port}"
    per_hour: list[int] = []
    calls = 0
    try:
        async with aiohttp.ClientSession() as session:
            app = GitHubApp(
                AppAuth(APP_ID, key),
                session,
                api_url=api_url,
                clock=clock,
                retry=RetryPolicy(attempts=1),
            )
            ticks_per_period = int(PERIOD / TICK)
            gates = [(n, repos[n % REPOSITORIES]) for n in range(GATES)]
            for hour in range(hours):
                before = standin.count("create-token")
                for tick in range(int(HOUR / TICK)):
                    step = hour * int(HOUR / TICK) + tick
                    due = [
                        repo for n, repo in gates if n % ticks_per_period == step % ticks_per_period
                    ]
                    tokens = await asyncio.gather(*(app.token_for(repo) for repo in due))
                    authors = await asyncio.gather(*(app.comment_author(repo) for repo in due))
                    if set(authors) != {app_side.bot_login}:
                        raise BenchError(f"the App's comments would be by {set(authors)}")
                    calls += len(due)
                    if len(set(tokens)) != 1:
                        raise BenchError(f"gates of one installation got {len(set(tokens))} tokens")
                    client = GitHubClient(
                        session, token=tokens[0], api_url=api_url, retry=RetryPolicy(attempts=1)
                    )
                    try:
                        await client.pull_base_sha(due[0], 1)
                    except GitHubError as error:
                        raise BenchError(
                            f"a token the App handed out was refused: {error}"
                        ) from None
                    clock.advance(TICK)
                per_hour.append(standin.count("create-token") - before)
            minted = sorted(
                t.expires_at - app_side.token_lifetime for t in app_side.tokens.values()
            )
            gaps = [b - a for a, b in itertools.pairwise(minted)]
            # The burst: every gate at once, when the cached token is past its time.
            clock.advance(HOUR)
            burst_before = standin.count("create-token")
            await asyncio.gather(*(app.token_for(repo) for _, repo in gates))
            burst = standin.count("create-token") - burst_before
            # What a call costs when the token is cached (the common case), in CPU.
            started = time.process_time()
            for n in range(HIT_CALLS):
                await app.token_for(repos[n % REPOSITORIES])
            hit_us = (time.process_time() - started) / HIT_CALLS * 1e6
            return Found(
                calls=calls,
                per_hour=per_hour,
                lookups=standin.count("get-installation"),
                get_app=standin.count("get-app"),
                jwts=app.jwts_signed,
                refused_jwts=len(app_side.refused),
                expired_refused=app_side.expired_refused,
                violations=len(standin.violations),
                burst=burst,
                hit_us=hit_us,
                renewal_every=sum(gaps) / len(gaps),
            )
    finally:
        await runner.cleanup()


def run(hours: int) -> list[Row]:
    print(f"app_tokens ({machine()})")
    hours = max(hours, 2)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    found = asyncio.run(simulate(hours))
    first = found.per_hour[0]
    steady = HOUR / found.renewal_every
    print(
        f"  {GATES:,} gates over {REPOSITORIES} repositories of one installation, token_for every "
        f"{PERIOD:g} s each, {hours} h simulated in {TICK:g} s ticks: {found.calls:,} calls"
    )
    print(
        f"  token requests in each hour: {found.per_hour}; one every {found.renewal_every:.0f} s "
        f"after the first: {steady:.2f} an hour"
    )
    print(
        f"  installation lookups {found.lookups}, GET /app {found.get_app}, JWTs signed "
        f"{found.jwts}, JWTs refused {found.refused_jwts}, expired tokens refused "
        f"{found.expired_refused}, stand-in violations {found.violations}"
    )
    print(f"  {GATES:,} token_for at once with the token past its time: {found.burst} request")
    print(f"  token_for with the token cached: {found.hit_us:.1f} us CPU a call")
    refusals = (found.refused_jwts, found.expired_refused, found.violations)
    return [
        Row(
            f"app tokens: 1,000 gates of one installation, first hour ({hours} h simulated)",
            f"{first} token requests",
            f"<= {TARGET_FIRST}",
            first <= TARGET_FIRST,
        ),
        Row(
            "app tokens: token requests an hour, after the first (one a renewal)",
            f"{steady:.2f}",
            f"<= {TARGET_STEADY} (about one)",
            steady <= TARGET_STEADY,
        ),
        Row(
            "app tokens: 1,000 concurrent token_for with the token past its time",
            f"{found.burst} request",
            "1",
            found.burst == 1,
        ),
        Row(
            "app tokens: JWTs refused, expired tokens refused, stand-in violations",
            ", ".join(map(str, refusals)),
            "0, 0, 0",
            refusals == (0, 0, 0),
        ),
        Row(
            "app tokens: token_for with the token cached",
            f"{found.hit_us:.1f} us CPU a call",
            "-",
            None,
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(
        bench_main("app_tokens", __doc__ or "", run, default_runs=3, runs_help="hours simulated")
    )
