"""The sans-I/O GitHub layer: responses to data or typed errors, Link headers, JSON values."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from gate.github.api import (
    COMMENT_MAX_CHARS,
    STATUS_DESCRIPTION_MAX,
    Comment,
    GitHubBadResponse,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubServerError,
    GitHubUnauthorized,
    GitHubUnprocessable,
    comment_path,
    comments_path,
    commit_pulls_path,
    contents_path,
    parse_comment,
    parse_comments,
    parse_file_content,
    parse_login,
    parse_pull_base_sha,
    parse_pull_numbers,
    parse_response,
    pull_path,
    rate_limit_wait,
    split_repo,
    status_description,
    statuses_path,
)
from gate.http.text import next_page_url

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
WHAT = "creating a comment on octo/repo#7"


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def error(status: int, payload: object, headers: dict[str, str] | None = None) -> GitHubError:
    with pytest.raises(GitHubError) as caught:
        parse_response(status, headers or {}, body(payload), what=WHAT, now=NOW)
    return caught.value


# --------------------------------------------------------------------------- success


def test_success_decodes_json_objects_and_lists():
    assert parse_response(200, {}, body({"id": 1}), what=WHAT) == {"id": 1}
    assert parse_response(201, {}, body([1, 2]), what=WHAT) == [1, 2]


def test_empty_success_body_is_none():
    assert parse_response(204, {}, b"", what="deleting") is None


@pytest.mark.parametrize(
    ("payload", "kind"),
    [(b"<html>hi</html>", "an HTML page"), (b"{nope", "invalid or truncated JSON")],
)
def test_success_with_unusable_body_is_bad_response(payload, kind):
    with pytest.raises(GitHubBadResponse, match=kind) as caught:
        parse_response(200, {}, payload, what=WHAT)
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (
            b'{"id": 1, "body": "a", "id": 2}',
            "duplicate key 'id' in one object at line 1 column 24",
        ),
        (b'{"id": ' + b"1" * 5000 + b"}", "a number with 5,000 digits"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"id": NaN}', "NaN is not a JSON number"),
        (b'{"body": "\xff"}', "not UTF-8"),
    ],
)
def test_success_with_complete_but_refused_json_is_final(payload, says):
    # Strict JSON: which of two `id`s is the comment's? Neither; and asking again won't help.
    with pytest.raises(GitHubBadResponse) as caught:
        parse_response(200, {}, payload, what=WHAT)
    assert not caught.value.retryable
    assert "malformed JSON" in str(caught.value)
    assert says in str(caught.value)


def test_error_body_with_duplicate_keys_is_not_trusted_for_its_message():
    with pytest.raises(GitHubNotFound) as caught:
        parse_response(404, {}, b'{"message": "Not Found", "message": "fake"}', what=WHAT)
    assert "(malformed JSON body: duplicate key 'message' in one object)" in str(caught.value)
    assert "fake" not in str(caught.value)


def test_truncated_and_oversized_success_bodies_are_refused():
    with pytest.raises(GitHubBadResponse, match="truncated"):
        parse_response(200, {"Content-Length": "100"}, b"[]", what=WHAT)
    with pytest.raises(GitHubBadResponse, match="larger than 1 KiB"):
        parse_response(200, {}, b"[" + b" " * 2048 + b"]", what=WHAT, max_body=1024)


# --------------------------------------------------------------------------- errors


def test_401_is_unauthorized_with_a_fix():
    exc = error(401, {"message": "Bad credentials"})
    assert isinstance(exc, GitHubUnauthorized)
    assert exc.status == 401
    assert "Bad credentials" in str(exc)
    assert "github-token" in str(exc)
    assert not exc.retryable


def test_403_not_accessible_is_flagged_and_explains_the_fix():
    exc = error(403, {"message": "Resource not accessible by integration"})
    assert isinstance(exc, GitHubForbidden)
    assert exc.not_accessible
    assert not exc.retryable
    text = str(exc)
    assert text.startswith(f"{WHAT}: HTTP 403 (Resource not accessible by integration)")
    assert "pull-requests: write" in text
    assert "workflow_run" in text
    assert exc.message == text


def test_plain_403_is_forbidden_but_not_not_accessible():
    exc = error(403, {"message": "Must have admin rights to Repository."})
    assert isinstance(exc, GitHubForbidden)
    assert not exc.not_accessible
    assert not isinstance(exc, GitHubRateLimited)


def test_403_with_no_remaining_quota_is_a_rate_limit_until_reset():
    reset = int(NOW.timestamp()) + 42
    exc = error(
        403,
        {"message": "API rate limit exceeded for installation ID 1."},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    assert isinstance(exc, GitHubRateLimited)
    assert exc.retryable
    assert exc.retry_after == pytest.approx(43.0)  # until just after the reset second


def test_secondary_limit_uses_retry_after_else_one_minute():
    message = {"message": "You have exceeded a secondary rate limit. Please wait."}
    with_header = error(403, message, {"Retry-After": "17"})
    assert isinstance(with_header, GitHubRateLimited)
    assert with_header.retry_after == 17
    assert "secondary rate limit" in str(with_header)
    without = error(403, message)
    assert isinstance(without, GitHubRateLimited)
    assert without.retry_after == 60


def test_429_honours_retry_after_seconds_and_dates():
    exc = error(429, {"message": "Too Many Requests"}, {"Retry-After": "5"})
    assert isinstance(exc, GitHubRateLimited)
    assert exc.retry_after == 5
    dated = error(429, {}, {"Retry-After": "Sun, 01 Mar 2026 12:00:30 GMT"})
    assert dated.retry_after == pytest.approx(30)
    assert error(429, {}).retry_after == 60


def test_retry_after_wins_over_reset():
    headers = {
        "Retry-After": "3",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW.timestamp()) + 999),
    }
    assert rate_limit_wait(headers, NOW) == 3
    past = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) - 50)}
    assert rate_limit_wait(past, NOW) == 1.0  # never negative; just after the reset


def test_404_422_5xx_and_others():
    assert isinstance(error(404, {"message": "Not Found"}), GitHubNotFound)
    too_long = error(
        422,
        {
            "message": "Validation Failed",
            "errors": [
                {
                    "resource": "IssueComment",
                    "code": "custom",
                    "field": "body",
                    "message": "body is too long (maximum is 65536 characters)",
                }
            ],
        },
    )
    assert isinstance(too_long, GitHubUnprocessable)
    assert "Validation Failed: body is too long (maximum is 65536 characters)" in str(too_long)
    assert not too_long.retryable
    no_message = error(422, {"message": "Validation Failed", "errors": [{"code": "missing"}]})
    assert "Validation Failed: missing" in str(no_message)
    server = error(502, {"message": "Server Error"}, {"Retry-After": "2"})
    assert isinstance(server, GitHubServerError)
    assert server.retryable
    assert server.retry_after == 2
    other = error(410, {"message": "Gone"})
    assert type(other) is GitHubError
    assert other.status == 410
    assert not other.retryable


def test_redirect_is_a_bad_response():
    with pytest.raises(GitHubBadResponse, match="redirect"):
        parse_response(301, {"Location": "https://elsewhere"}, b"", what=WHAT)


def test_error_messages_are_one_line_and_bounded():
    exc = error(403, {"message": "line one\nline two\r\n\x1b[31m" + "x" * 1000})
    text = str(exc)
    assert "\n" not in text
    assert "\r" not in text
    assert "\x1b" not in text
    assert len(text) < 800
    assert "(JSON body without a message)" in str(error(500, ["not", "an", "object"]))
    with pytest.raises(GitHubServerError, match=r"\(non-JSON error page\)"):
        parse_response(502, {}, b"<html><body>Bad gateway</body></html>", what=WHAT)


# --------------------------------------------------------------------------- links


def test_next_page_url_from_githubs_link_header():
    base = "https://api.github.com/repositories/1/issues/7/comments?per_page=100"
    header = f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    assert next_page_url(header) == f"{base}&page=2"


def test_next_page_url_variants():
    assert next_page_url(None) is None
    assert next_page_url("") is None
    last_page = '<https://x/a?page=1>; rel="prev", <https://x/a?page=1>; rel="first"'
    assert next_page_url(last_page) is None
    assert next_page_url("<https://x/a?page=2>; rel=next") == "https://x/a?page=2"
    assert next_page_url('<https://x/a?page=2>; REL="Next"') == "https://x/a?page=2"
    assert next_page_url('<https://x/a?page=9>; rel="last next"') == "https://x/a?page=9"
    with_comma = '<https://x/a?q=a,b&page=2>; rel="next", <https://x/a?page=5>; rel="last"'
    assert next_page_url(with_comma) == "https://x/a?q=a,b&page=2"
    assert next_page_url('<https://x/a>; title="a, b"; rel="next"') == "https://x/a"
    assert next_page_url('https://x/a; rel="next"') is None  # no <...>: not a link


# --------------------------------------------------------------------------- values


def comment_json(**overrides):
    data = {
        "id": 11,
        "body": "hello",
        "user": {"login": "octocat", "type": "User"},
        "html_url": "https://github.com/o/r/pull/7#issuecomment-11",
    }
    data.update(overrides)
    return data


def test_parse_comments():
    parsed = parse_comments([comment_json(), comment_json(id=12, user=None, body=None)])
    assert parsed == [
        Comment(11, "hello", "octocat", "User", "https://github.com/o/r/pull/7#issuecomment-11"),
        Comment(12, "", None, None, "https://github.com/o/r/pull/7#issuecomment-11"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        comment_json(id=True),
        comment_json(id="11"),
        comment_json(id=0),
        comment_json(body=5),
        comment_json(user="octocat"),
        "not an object",
    ],
)
def test_parse_comments_fails_closed(bad):
    with pytest.raises(GitHubBadResponse, match="entry #1"):
        parse_comments([comment_json(), bad])


def test_parse_comment_and_list_shape():
    assert parse_comment(comment_json()).id == 11
    with pytest.raises(GitHubBadResponse, match="expected a JSON list"):
        parse_comments({"comments": []})


def test_parse_login_and_pull_numbers():
    assert parse_login({"login": "alice"}) == "alice"
    assert parse_login({"login": ""}) is None
    assert parse_login([]) is None
    pulls = [
        {"number": 3, "state": "open"},
        {"number": 4, "state": "closed"},
        {"number": 3, "state": "open"},
        {"number": 9, "state": "open"},
    ]
    assert parse_pull_numbers(pulls) == [3, 9]
    with pytest.raises(GitHubBadResponse, match="entry #0"):
        parse_pull_numbers([{"number": "3", "state": "open"}])
    with pytest.raises(GitHubBadResponse):
        parse_pull_numbers({"number": 3})


# --------------------------------------------------------------------------- paths


def test_paths():
    assert comments_path("octo-org/octo.repo", 7) == "/repos/octo-org/octo.repo/issues/7/comments"
    assert comment_path("o/r", 99) == "/repos/o/r/issues/comments/99"
    assert statuses_path("o/r", SHA.upper()) == f"/repos/o/r/statuses/{SHA}"
    assert commit_pulls_path("o/r", SHA) == f"/repos/o/r/commits/{SHA}/pulls"
    assert split_repo(" o/r ") == ("o", "r")


@pytest.mark.parametrize("repo", ["", "o", "o/r/x", "../r", "o/..", "o r/x", "o/r?x=1", "o/"])
def test_bad_repository_is_a_github_error(repo):
    with pytest.raises(GitHubError, match="owner/name"):
        comments_path(repo, 1)


def test_bad_numbers_and_shas():
    for number in (0, -1, True):
        with pytest.raises(GitHubError, match="positive integer"):
            comments_path("o/r", number)
    with pytest.raises(GitHubError, match="hexadecimal SHA"):
        statuses_path("o/r", "main")
    with pytest.raises(GitHubError, match="hexadecimal SHA"):
        commit_pulls_path("o/r", "../../x")


def test_status_description_fits_githubs_limit():
    assert status_description("2 checks failed") == "2 checks failed"
    long = status_description("failed:\n" + "metric " * 60)
    assert len(long) == STATUS_DESCRIPTION_MAX
    assert long.endswith("…")
    assert "\n" not in long
    assert COMMENT_MAX_CHARS == 65536


# --------------------------------------------------------------------------- contents


def test_contents_and_pull_paths():
    assert contents_path("octo/repo", ".github/eval-gate.yml") == (
        "/repos/octo/repo/contents/.github/eval-gate.yml"
    )
    assert (
        contents_path("octo/repo", "a b/c?d#e.yml")
        == "/repos/octo/repo/contents/a%20b/c%3Fd%23e.yml"
    )
    assert pull_path("octo/repo", 7) == "/repos/octo/repo/pulls/7"
    for bad in ("", "/abs.yml", "a//b.yml", "../x.yml", "a/./b", "a\nb"):
        with pytest.raises(GitHubError, match="not a plain path"):
            contents_path("octo/repo", bad)


def _file(content: bytes, **extra: object) -> dict[str, object]:
    encoded = base64.b64encode(content).decode()
    lines = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
    return {"type": "file", "encoding": "base64", "size": len(content), "content": lines, **extra}


def test_parse_file_content_decodes_base64_lines():
    data = b"version: 1\n" * 50
    assert parse_file_content(_file(data), what="w", max_bytes=1000) == data


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([{"type": "file"}], "is a folder"),
        ({"type": "dir"}, "is a dir, not a file"),
        ({"type": "symlink", "target": "x"}, "is a symlink"),
        (_file(b"x" * 11), "11 bytes, over the limit of 10"),
        (_file(b"x", size=None), None),
        ({"type": "file", "encoding": "none", "content": "", "size": 5}, "not given in base64"),
        ({"type": "file", "encoding": "base64", "content": "!!!"}, "not valid base64"),
        ({"type": "file", "encoding": "base64", "content": "é"}, "not valid base64"),
        (_file(b"x" * 11, size=3), "11 bytes, over the limit of 10"),  # size lies
    ],
)
def test_parse_file_content_refuses_what_is_not_a_small_file(answer, problem):
    if problem is None:
        assert parse_file_content(answer, what="w", max_bytes=10) == b"x"
        return
    with pytest.raises(GitHubBadResponse, match=problem):
        parse_file_content(answer, what="w", max_bytes=10)


def test_parse_pull_base_sha():
    assert parse_pull_base_sha({"base": {"sha": "AB" * 20}}) == "ab" * 20
    for bad in ({}, {"base": {}}, {"base": {"sha": "main"}}, [], None):
        with pytest.raises(GitHubBadResponse, match=r"no base\.sha"):
            parse_pull_base_sha(bad)
