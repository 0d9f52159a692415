"""The sticky report comment: markers, finding ours, and upsert against the GitHub stand-in."""

from __future__ import annotations

import aiohttp
import pytest

from gate.core.gate_id import report_folder, status_context
from gate.github.api import Comment, GitHubForbidden
from gate.github.client import GitHubClient
from gate.github.comment import (
    CommentResult,
    comment_budget,
    find_own_comment,
    marker,
    upsert_comment,
    with_marker,
)
from gate.http.retry import RetryPolicy
from tests.github_standin import (
    Fault,
    GitHubStandIn,
    RecordingSleep,
    leaks,
    not_accessible,
    primary_rate_limit,
    secondary_rate_limit,
    server_error,
    too_many_requests,
)

TOKEN = "ghs_C0mmentT0ken+secret"
REPO = "octo-org/octo-repo"
PR = 7
BOT = "github-actions[bot]"
MARK = "<!-- eval-gate:detector -->"


# --------------------------------------------------------------------------- markers, pure


def test_marker_uses_the_gate_id_verbatim():
    assert marker("detector") == MARK
    assert marker("github-eval-gate-yml") == "<!-- eval-gate:github-eval-gate-yml -->"
    assert marker("Det.v2_a") == "<!-- eval-gate:Det.v2_a -->"


@pytest.mark.parametrize("bad", ["", "a-->b", "--", "-a", "a b", "x" * 65, "a/b", "é"])
def test_marker_refuses_what_is_not_a_gate_id(bad):
    with pytest.raises(ValueError, match="gate id must be"):
        marker(bad)


def test_distinct_gate_ids_never_share_a_marker_or_a_status_context():
    ids = ["a.b", "a-b", "a_b", "A-b", "ab"]
    assert len({marker(gate_id) for gate_id in ids}) == len(ids)
    assert len({status_context(gate_id) for gate_id in ids}) == len(ids)
    assert len({report_folder(gate_id) for gate_id in ids}) == len(ids)


def test_with_marker_puts_it_first_once():
    assert with_marker("## Report", "detector") == f"{MARK}\n## Report"
    assert with_marker(f"{MARK}\n## Report", "detector") == f"{MARK}\n## Report"
    assert with_marker(f"{MARK}\n## Report", "other").startswith("<!-- eval-gate:other -->\n")


def c(id_: int, body: str, login: str | None = BOT, user_type: str | None = "Bot") -> Comment:
    return Comment(id_, body, login, user_type, f"https://github.com/o/r/pull/7#issuecomment-{id_}")


def test_only_a_first_line_exactly_equal_to_the_marker_counts():
    comments = [
        c(1, f"I saw {MARK} in the bot comment"),
        c(2, f"> {MARK}\n> quoted reply"),
        c(3, f" {MARK}\nleading space"),
        c(4, "<!-- eval-gate:detector-v2 -->\nanother gate"),
        c(5, "<!-- eval-gate:detector -->x\nglued text"),
        c(6, f"text first\n{MARK}"),
    ]
    assert find_own_comment(comments, MARK, BOT) is None
    ours = c(7, f"{MARK}\r\n## Report")  # GitHub may hand back CRLF line ends
    assert find_own_comment([*comments, ours], MARK, BOT) == ours


def test_only_comments_by_our_own_login_are_ours_whoever_else_copies_the_marker():
    human = c(1, f"{MARK}\ncopied by hand", login="alice", user_type="User")
    other_bot = c(2, f"{MARK}\nanother app", login="renovate[bot]", user_type="Bot")
    actions = c(3, f"{MARK}\nours", login=BOT)
    actions_later = c(4, f"{MARK}\nduplicate", login=BOT)
    assert find_own_comment([human, other_bot], MARK, BOT) is None
    assert find_own_comment([human, other_bot, actions, actions_later], MARK, BOT) == actions
    # A personal access token's login is ours, and then only its comments.
    assert find_own_comment([actions, human], MARK, "alice") == human
    assert find_own_comment([actions, human], MARK, "Alice") == human  # logins ignore case
    assert find_own_comment([actions, other_bot], MARK, "alice") is None
    # Not knowing who we are, nothing is ours.
    assert find_own_comment([actions, other_bot, human], MARK, None) is None
    deleted = Comment(9, f"{MARK}\nghost", None, None, None)
    assert find_own_comment([deleted], MARK, BOT) is None


# --------------------------------------------------------------------------- upsert, real server


@pytest.fixture
def standin():
    fake = GitHubStandIn(token=TOKEN)
    fake.add_pull(REPO, PR)
    yield fake
    assert fake.violations == []
    assert leaks(fake, TOKEN) == []


@pytest.fixture
def sleep():
    return RecordingSleep()


@pytest.fixture
async def client(server, sleep):
    async with aiohttp.ClientSession() as session:
        yield GitHubClient(
            session,
            token=TOKEN,
            api_url=f"http://{server.host}:{server.port}",
            timeout=5.0,
            retry=RetryPolicy(attempts=3),
            sleep=sleep,
            rand=lambda: 0.0,
        )


async def upsert(client, *, mode="update", passing=False, gate_id="detector", body="## Report"):
    return await upsert_comment(
        client, repo=REPO, number=PR, body=body, gate_id=gate_id, mode=mode, passing=passing
    )


def assert_failed_cleanly(result: CommentResult) -> None:
    assert result.action == "failed"
    assert result.url is None
    assert result.reason
    assert "\n" not in result.reason
    assert TOKEN not in result.reason


async def test_no_comment_yet_creates_one(client, standin):
    result = await upsert(client)
    (comment,) = standin.comments_on(REPO, PR)
    assert result == CommentResult(
        "created",
        url=f"https://github.com/{REPO}/pull/{PR}#issuecomment-{comment.id}",
        comment_id=comment.id,
    )
    assert comment.body == f"{MARK}\n## Report"
    assert comment.login == BOT
    assert standin.count("get-user") == 1
    assert standin.count("list-comments") == 1


async def test_ours_on_page_3_of_250_is_updated_in_place(client, standin):
    standin.add_comments(REPO, PR, 220, author="alice")
    ours = standin.add_comment(REPO, PR, f"{MARK}\nold report", author=BOT)
    standin.add_comments(REPO, PR, 29, author="bob")
    result = await upsert(client, body="new report")
    assert result.action == "updated"
    assert result.comment_id == ours.id
    assert result.url.endswith(f"#issuecomment-{ours.id}")
    pages = standin.requests_for("list-comments")
    assert len(pages) == 3
    (patch,) = standin.requests_for("update-comment")
    assert patch.path == f"/repos/{REPO}/issues/comments/{ours.id}"
    assert patch.json == {"body": f"{MARK}\nnew report"}
    assert standin.count("create-comment") == 0
    assert len(standin.comments_on(REPO, PR)) == 250
    assert ours.body == f"{MARK}\nnew report"


async def test_an_early_match_stops_paging(client, standin):
    ours = standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    standin.add_comments(REPO, PR, 249)
    result = await upsert(client)
    assert (result.action, result.comment_id) == ("updated", ours.id)
    assert standin.count("list-comments") == 1


async def test_similar_markers_by_others_are_left_alone(client, standin):
    lookalikes = [
        standin.add_comment(REPO, PR, f"Why does the bot write {MARK}?", author="alice"),
        standin.add_comment(REPO, PR, f"> {MARK}\n> ## Report\n\nI disagree", author="bob"),
        standin.add_comment(REPO, PR, "<!-- eval-gate:segmenter -->\nother gate", author=BOT),
        standin.add_comment(REPO, PR, f"{MARK}\nhand-made copy", author="carol"),
    ]
    before = [(x.id, x.body) for x in lookalikes]
    result = await upsert(client)
    assert result.action == "created"
    assert [(x.id, x.body) for x in lookalikes] == before
    assert standin.count("update-comment") == 0
    assert standin.comments_on(REPO, PR)[-1].body == f"{MARK}\n## Report"


async def test_two_gate_ids_keep_two_comments(client, standin):
    first = await upsert(client, gate_id="detector", body="detector v1")
    second = await upsert(client, gate_id="segmenter", body="segmenter v1")
    assert (first.action, second.action) == ("created", "created")
    again = await upsert(client, gate_id="segmenter", body="segmenter v2")
    assert (again.action, again.comment_id) == ("updated", second.comment_id)
    bodies = [x.body for x in standin.comments_on(REPO, PR)]
    assert bodies == [
        f"{MARK}\ndetector v1",
        "<!-- eval-gate:segmenter -->\nsegmenter v2",
    ]


async def test_prefers_the_tokens_own_comment(aiohttp_server):
    standin = GitHubStandIn(token=TOKEN, login="alice", user_readable=True)
    standin.add_pull(REPO, PR)
    standin.add_comment(REPO, PR, f"{MARK}\nfrom actions", author=BOT)
    mine = standin.add_comment(REPO, PR, f"{MARK}\nfrom alice's PAT", author="alice")
    server = await aiohttp_server(standin.app())
    async with aiohttp.ClientSession() as session:
        client = GitHubClient(session, token=TOKEN, api_url=f"http://{server.host}:{server.port}")
        result = await upsert(client, body="v2")
    assert (result.action, result.comment_id) == ("updated", mine.id)
    assert mine.body == f"{MARK}\nv2"
    assert standin.violations == []


async def test_another_bots_comment_with_our_marker_is_left_untouched_and_ours_is_posted(
    client, standin
):
    theirs = standin.add_comment(REPO, PR, f"{MARK}\nrenovate copied it", author="renovate[bot]")
    result = await upsert(client, body="the verdict")
    assert result.action == "created"
    assert theirs.body == f"{MARK}\nrenovate copied it"
    assert standin.count("update-comment") == 0
    assert standin.comments_on(REPO, PR)[-1].body == f"{MARK}\nthe verdict"
    assert standin.comments_on(REPO, PR)[-1].login == BOT
    # The next run finds its own comment, still not theirs.
    again = await upsert(client, body="v2")
    assert (again.action, again.comment_id) == ("updated", result.comment_id)
    assert theirs.body == f"{MARK}\nrenovate copied it"


async def test_a_personal_token_never_takes_the_actions_bot_comment_for_its_own(aiohttp_server):
    standin = GitHubStandIn(token=TOKEN, login="alice", user_readable=True)
    standin.add_pull(REPO, PR)
    actions = standin.add_comment(REPO, PR, f"{MARK}\nfrom the job's token", author=BOT)
    server = await aiohttp_server(standin.app())
    async with aiohttp.ClientSession() as session:
        client = GitHubClient(session, token=TOKEN, api_url=f"http://{server.host}:{server.port}")
        result = await upsert(client, body="v2")
    assert result.action == "created"
    assert actions.body == f"{MARK}\nfrom the job's token"
    assert standin.comments_on(REPO, PR)[-1].login == "alice"
    assert standin.violations == []


async def test_our_comment_deleted_between_lookup_and_edit_is_posted_anew(client, standin):
    ours = standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    standin.fail("update-comment", Fault(404, {"message": "Not Found", "status": "404"}))
    result = await upsert(client, body="new")
    assert result.action == "created"
    assert result.comment_id != ours.id
    assert standin.comments_on(REPO, PR)[-1].body == f"{MARK}\nnew"


async def test_on_failure_does_not_post_anew_when_our_passing_comment_was_deleted(client, standin):
    standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    standin.fail("update-comment", Fault(404, {"message": "Not Found", "status": "404"}))
    result = await upsert(client, mode="on-failure", passing=True)
    assert result.action == "skipped"
    assert standin.count("create-comment") == 0


async def test_who_we_are_is_asked_once_and_no_page_of_others_markers_is_ours(client, standin):
    standin.add_comments(REPO, PR, 250, author="renovate[bot]", body_fn=lambda i: f"{MARK}\n{i}")
    result = await upsert(client)
    assert result.action == "created"
    assert standin.count("get-user") == 1
    assert standin.count("list-comments") == 3  # every page: none of them is ours


async def test_when_github_will_not_say_who_we_are_nothing_is_ours(client, standin, sleep):
    ours = standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    standin.fail("get-user", *[server_error(502)] * 3)
    result = await upsert(client, body="new")
    assert result.action == "created"  # a duplicate at worst, never a lost verdict
    assert ours.body == f"{MARK}\nold"
    assert standin.count("list-comments") == 0


async def test_the_stand_in_answers_403_to_editing_someone_else_s_comment(client, standin):
    theirs = standin.add_comment(REPO, PR, "x", author="renovate[bot]")
    with pytest.raises(GitHubForbidden):
        await client.update_comment(REPO, theirs.id, "edited")
    assert theirs.body == "x"


async def test_a_known_login_skips_the_user_lookup(client, standin):
    ours = standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    result = await upsert_comment(
        client,
        repo=REPO,
        number=PR,
        body="b",
        gate_id="detector",
        mode="update",
        passing=True,
        bot_login=BOT,
    )
    assert result.comment_id == ours.id
    assert standin.count("get-user") == 0


async def test_403_not_accessible_on_create_fails_without_raising(client, standin):
    standin.fail("create-comment", not_accessible())
    result = await upsert(client)
    assert_failed_cleanly(result)
    assert result.status == 403
    assert result.not_accessible
    assert "Resource not accessible by integration" in result.reason
    assert "pull-requests: write" in result.reason
    assert standin.comments_on(REPO, PR) == []


async def test_403_not_accessible_on_update_fails_without_raising(client, standin):
    standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    standin.fail("update-comment", not_accessible())
    result = await upsert(client)
    assert_failed_cleanly(result)
    assert result.not_accessible


async def test_a_report_within_the_budget_fits_githubs_limit(client, standin):
    budget = comment_budget("detector")
    assert budget == 65536 - len(MARK) - 1
    result = await upsert(client, body="x" * budget)
    assert result.action == "created"
    assert len(standin.comments_on(REPO, PR)[0].body) == 65536


async def test_422_body_too_long_fails(client, standin):
    result = await upsert(client, body="x" * (comment_budget("detector") + 1))
    assert_failed_cleanly(result)
    assert result.status == 422
    assert not result.not_accessible
    assert "body is too long" in result.reason


async def test_listing_errors_fail_cleanly(client, standin):
    standin.fail("list-comments", *[server_error(500)] * 3)
    result = await upsert(client)
    assert_failed_cleanly(result)
    assert result.status == 500
    assert standin.count("create-comment") == 0  # no blind create: it could duplicate ours


async def test_429_retry_after_on_create_is_waited(client, standin, sleep):
    standin.fail("create-comment", too_many_requests(retry_after=9))
    result = await upsert(client)
    assert result.action == "created"
    assert sleep.delays == [9]
    assert sleep.delays[0] >= 9
    assert len(standin.comments_on(REPO, PR)) == 1


async def test_403_secondary_limit_on_list_is_waited(client, standin, sleep):
    ours = standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    standin.fail("list-comments", secondary_rate_limit(retry_after=4))
    result = await upsert(client)
    assert (result.action, result.comment_id) == ("updated", ours.id)
    assert sleep.delays == [4]


async def test_a_rate_limit_longer_than_allowed_gives_up_cleanly(client, standin, sleep):
    standin.fail("list-comments", primary_rate_limit(reset_in=900))
    result = await upsert(client)
    assert_failed_cleanly(result)
    assert "rate limit" in result.reason
    assert "more than the 60 s" in result.reason
    assert sleep.delays == []
    assert standin.count("create-comment") == 0


async def test_rate_limited_user_lookup_still_posts(client, standin, sleep):
    standin.fail("get-user", too_many_requests(retry_after=600))
    result = await upsert(client)
    assert result.action == "created"


async def test_mode_new_always_creates(client, standin):
    standin.add_comment(REPO, PR, f"{MARK}\nold", author=BOT)
    result = await upsert(client, mode="new", passing=True)
    assert result.action == "created"
    assert len(standin.comments_on(REPO, PR)) == 2
    assert standin.count("list-comments") == 0
    assert standin.count("get-user") == 0


async def test_mode_on_failure(client, standin):
    skipped = await upsert(client, mode="on-failure", passing=True)
    assert skipped.action == "skipped"
    assert "passed" in skipped.reason
    assert standin.comments_on(REPO, PR) == []
    created = await upsert(client, mode="on-failure", passing=False, body="failing")
    assert created.action == "created"
    # Now passing: the existing comment is still updated, so it never shows a stale verdict.
    updated = await upsert(client, mode="on-failure", passing=True, body="passing now")
    assert (updated.action, updated.comment_id) == ("updated", created.comment_id)
    (only,) = standin.comments_on(REPO, PR)
    assert only.body == f"{MARK}\npassing now"


async def test_mode_off_makes_no_request(client, standin):
    result = await upsert(client, mode="off")
    assert result.action == "skipped"
    assert standin.requests == []


async def test_unknown_mode_is_a_programming_error(client, standin):
    with pytest.raises(ValueError, match="comment mode"):
        await upsert(client, mode="sticky")
    assert standin.requests == []


async def test_a_bad_repository_fails_cleanly(client, standin):
    result = await upsert_comment(
        client, repo="not a repo", number=PR, body="b", gate_id="g", mode="update", passing=False
    )
    assert_failed_cleanly(result)
    assert "owner/name" in result.reason


async def test_wrong_token_fails_cleanly(server, standin):
    async with aiohttp.ClientSession() as session:
        client = GitHubClient(
            session, token="ghs_not_the_right_one", api_url=f"http://{server.host}:{server.port}"
        )
        result = await upsert(client)
    assert_failed_cleanly(result)
    assert result.status == 401
    assert "ghs_not_the_right_one" not in result.reason
