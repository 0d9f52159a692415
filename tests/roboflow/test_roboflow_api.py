"""The sans-I/O Roboflow API layer, the backoff policy, and redaction."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import structlog
from yarl import URL

from gate.core.errors import ExitCode, ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery
from gate.core.redact import redact, redacting_processor
from gate.http.retry import RetryPolicy
from gate.roboflow.api import (
    LIST_KEYS,
    MAX_BODY_BYTES,
    AuthError,
    BadRequest,
    BadResponse,
    EvalNotFound,
    NotReady,
    RateLimited,
    RoboflowError,
    ServerError,
    eval_path,
    list_path,
    map_results_path,
    one_line,
    parse_eval_info,
    parse_eval_list,
    parse_response,
    parse_retry_after,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
JSON = {"Content-Type": "application/json"}
WHAT = "map-results for eval abc"
DUPLICATE_MAP50 = (
    b'{"taskType": "object-detection-like", "splits": {"test": {"map50": "garbage", '
    b'"map50": 0.924}}}'
)


def error(status: int, body: bytes | str, headers: dict[str, str] | None = None, **kw):
    data = body.encode() if isinstance(body, str) else body
    with pytest.raises(RoboflowError) as info:
        parse_response(
            status, headers or JSON, data, what=WHAT, eval_id="abc", workspace="ws", now=NOW, **kw
        )
    return info.value


# --------------------------------------------------------------------------- paths


def test_paths_quote_every_segment():
    assert eval_path("ws", "abc") == "/ws/model-evals/abc"
    assert map_results_path("ws", "abc") == "/ws/model-evals/abc/map-results"
    assert eval_path("my ws", "a/b?c#d") == "/my%20ws/model-evals/a%2Fb%3Fc%23d"
    assert map_results_path("ws", "..") == "/ws/model-evals/%2E%2E/map-results"
    assert eval_path(".", "a.b") == "/%2E/model-evals/a.b"


def test_list_path_encodes_filters_and_drops_none():
    assert list_path("ws", EvalQuery()) == "/ws/model-evals?limit=200"
    path = list_path("ws", EvalQuery(project="my proj&x=1", status="done", limit=5))
    assert path == "/ws/model-evals?project=my%20proj%26x%3D1&status=done&limit=5"
    assert dict(URL(path).query) == {"project": "my proj&x=1", "status": "done", "limit": "5"}


# --------------------------------------------------------------------------- success bodies


def test_success_returns_decoded_object_or_list():
    assert parse_response(200, JSON, b'{"a": 1}', what=WHAT) == {"a": 1}
    assert parse_response(200, JSON, b"[1, 2]", what=WHAT) == [1, 2]
    assert parse_response(203, {}, b' {"x": null} ', what=WHAT) == {"x": None}


@pytest.mark.parametrize("body", [b"3", b'"text"', b"null", b"true"])
def test_success_with_wrong_top_level_type_is_bad_and_final(body):
    exc = error(200, body)
    assert isinstance(exc, BadResponse)
    assert not exc.retryable
    assert "expected an object or a list" in str(exc)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"taskType": "object-det', "invalid or truncated JSON"),
        (b'{"taskType": "object-detection-like", "splits": {"test": {"map50": 0.9', "truncated"),
        (b'{"taskType": "caf\xc3', "invalid or truncated JSON"),  # cut inside a character
        (b"<html><body>Login required</body></html>", "an HTML page"),
        (b"<html>\xff</html>", "an HTML page"),
    ],
)
def test_success_with_undecodable_body_is_retryable(body, kind):
    exc = error(200, body, headers={})
    assert isinstance(exc, BadResponse)
    assert exc.retryable
    assert kind in str(exc)
    assert "<" not in str(exc)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (DUPLICATE_MAP50, "duplicate key 'map50' in one object at line 1 column 79"),
        (
            b'{"taskType": "object-detection-like", "taskType": "semantic-segmentation"}',
            "duplicate key 'taskType'",
        ),
        (b'{"map50": ' + b"9" * 5000 + b"}", "a number with 5,000 digits"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply (at most 64 levels"),
        (b"[" * 100_000, "nested too deeply"),  # refused before the missing end matters
        (b'{"a": "\xff\xfe garbage"}', "not UTF-8 at line 1 column 8 (byte 0xFF"),
    ],
)
def test_success_with_complete_but_refused_json_is_final(body, says):
    # A whole answer that strict JSON refuses would come back the same: not retried.
    exc = error(200, body, headers={})
    assert isinstance(exc, BadResponse)
    assert not exc.retryable
    assert exc.exit_code is ExitCode.UNAVAILABLE
    assert "malformed JSON" in str(exc)
    assert says in str(exc)
    assert "\n" not in str(exc)


def test_success_keeps_nan_for_the_reader_to_mark():
    data = parse_response(200, JSON, b'{"map50": NaN, "map75": Infinity}', what=WHAT)
    assert math.isnan(data["map50"])
    assert data["map75"] == math.inf


def test_error_body_with_duplicate_keys_is_not_trusted_for_its_message():
    exc = error(404, b'{"error": "model_eval_not_found", "error": "x"}')
    assert isinstance(exc, EvalNotFound)
    assert "(malformed JSON body: duplicate key 'error' in one object)" in str(exc)


def test_success_with_empty_body_is_retryable():
    exc = error(200, b"  ")
    assert isinstance(exc, BadResponse)
    assert exc.retryable
    assert "empty body" in str(exc)


def test_body_shorter_than_content_length_is_truncated_and_retryable():
    exc = error(200, b'{"a": 1}', headers={"content-length": "100"})
    assert isinstance(exc, BadResponse)
    assert exc.retryable
    assert "truncated (8 of 100 bytes)" in str(exc)


def test_compressed_content_length_is_not_mistaken_for_truncation():
    headers = {"Content-Length": "100", "Content-Encoding": "gzip"}
    assert parse_response(200, headers, b'{"a": 1}', what=WHAT) == {"a": 1}


def test_too_large_body_is_refused_and_final():
    exc = error(200, b'{"a": "' + b"x" * 100 + b'"}', max_body=64)
    assert isinstance(exc, BadResponse)
    assert not exc.retryable
    assert "larger than 64 bytes" in str(exc)
    assert MAX_BODY_BYTES == 32 * 1024 * 1024


# --------------------------------------------------------------------------- error statuses


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_point_at_the_key_scope_and_workspace(status):
    exc = error(status, '{"error": "unauthenticated", "message": "Invalid API key"}')
    assert isinstance(exc, AuthError)
    assert not exc.retryable
    message = str(exc)
    assert message.startswith(f"{WHAT}: HTTP {status} (unauthenticated: Invalid API key)")
    assert "ROBOFLOW_API_KEY" in message
    assert "model-eval:read" in message
    assert "workspace ws" in message


def test_404_names_eval_and_workspace():
    exc = error(404, '{"error": "model_eval_not_found", "message": "Not found"}')
    assert isinstance(exc, EvalNotFound)
    assert "evaluation abc not found in workspace ws" in str(exc)
    assert "model_eval_not_found" in str(exc)
    assert exc.eval_id == "abc"
    assert exc.status == 404


def test_404_without_eval_names_the_workspace():
    with pytest.raises(EvalNotFound, match="nothing found in workspace ws"):
        parse_response(404, JSON, b"{}", what="eval list", workspace="ws")


def test_409_is_not_ready_and_final():
    exc = error(409, '{"error": "model_eval_not_done", "message": "still running"}')
    assert isinstance(exc, NotReady)
    assert not exc.retryable
    assert "evaluation abc has no results yet" in str(exc)
    assert "model_eval_not_done: still running" in str(exc)


@pytest.mark.parametrize("status", [400, 405, 410, 418, 422])
def test_other_4xx_are_bad_requests(status):
    exc = error(status, '{"error": "invalid_split", "message": "split must be test"}')
    assert type(exc) is BadRequest
    assert not exc.retryable
    assert f"HTTP {status} (invalid_split: split must be test)" in str(exc)


def test_429_is_retryable_with_retry_after_seconds():
    exc = error(429, '{"error": "rate_limited"}', {"Retry-After": "7"})
    assert isinstance(exc, RateLimited)
    assert exc.retryable
    assert exc.retry_after == 7.0


def test_429_with_http_date_retry_after():
    when = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    exc = error(429, "", {"retry-after": when})
    assert isinstance(exc, RateLimited)
    assert exc.retry_after == 30.0
    assert "(empty body)" in str(exc)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_5xx_are_retryable_server_errors(status):
    exc = error(status, '{"error": "internal", "message": "boom"}')
    assert isinstance(exc, ServerError)
    assert exc.retryable
    assert exc.retry_after is None
    assert f"HTTP {status} (internal: boom)" in str(exc)


def test_503_keeps_retry_after():
    exc = error(503, "{}", {"Retry-After": "2"})
    assert isinstance(exc, ServerError)
    assert exc.retry_after == 2.0
    assert "JSON body without an error message" in str(exc)


def test_html_error_page_is_summarised_not_quoted():
    page = "<html>\r\n<head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    exc = error(502, page, {"Content-Type": "text/html"})
    assert isinstance(exc, ServerError)
    assert "(non-JSON error page)" in str(exc)
    assert "nginx" not in str(exc)
    assert "<" not in str(exc)


def test_plain_text_error_is_quoted_on_one_line():
    exc = error(503, "upstream connect error\nor disconnect", {"Content-Type": "text/plain"})
    assert "(non-JSON body: upstream connect error or disconnect)" in str(exc)


def test_nested_error_object_is_understood():
    body = json.dumps({"error": {"message": "Unsupported request", "type": "GraphMethodException"}})
    exc = error(400, body)
    assert "(GraphMethodException: Unsupported request)" in str(exc)


def test_redirect_is_not_followed_silently():
    exc = error(301, "", {"Location": "https://elsewhere.example/x"})
    assert isinstance(exc, BadResponse)
    assert not exc.retryable
    assert "redirect" in str(exc)
    assert "elsewhere" not in str(exc)


def test_unexpected_status_is_bad_response():
    exc = error(101, "")
    assert isinstance(exc, BadResponse)
    assert "unexpected HTTP status 101" in str(exc)


def test_server_text_is_sanitised_to_one_short_line():
    hostile = "line1\nline2\r\x1b[31mred\x1b[0m\u202eevil\x00" + "x" * 500
    exc = error(500, json.dumps({"error": "internal", "message": hostile}))
    message = str(exc)
    assert "\n" not in message
    assert "\r" not in message
    assert "\x1b" not in message
    assert "\u202e" not in message
    assert "\x00" not in message
    detail = message.split("(", 1)[1].split("): ", 1)[0]
    assert len(detail) <= 200
    assert detail.startswith("internal: line1 line2 [31mred [0m evil")
    assert detail.endswith("…")


def test_messages_never_include_headers():
    headers = {
        "Content-Type": "application/json",
        "Set-Cookie": "session=COOKIEVALUE",
        "X-Request-Id": "REQUESTID123",
        "Retry-After": "3",
    }
    for status in (400, 401, 404, 409, 429, 500, 301):
        exc = error(status, "{}", headers)
        assert "COOKIEVALUE" not in str(exc)
        assert "REQUESTID123" not in str(exc)


def test_what_is_made_single_line():
    with pytest.raises(ServerError) as info:
        parse_response(500, JSON, b"{}", what="map-results for eval a\nb")
    assert "\n" not in str(info.value)


def test_every_error_is_results_unavailable_with_exit_code_3():
    for status in (400, 401, 404, 409, 429, 500):
        exc = error(status, "{}")
        assert isinstance(exc, ResultsUnavailable)
        assert exc.exit_code == ExitCode.UNAVAILABLE
        assert exc.eval_id == "abc"
        assert exc.status == status


def test_one_line():
    assert one_line("  a\n\tb  c ") == "a b c"
    assert one_line("abcdef", limit=4) == "abc…"


# --------------------------------------------------------------------------- eval info


def test_eval_info_documented_fields():
    info = parse_eval_info(
        {
            "evalId": "abc",
            "status": "Done",
            "project": "proj",
            "versionId": "3",
            "modelId": "proj/3",
            "createdAt": "2026-01-02T03:04:05.123Z",
            "summary": {"mAP": 0.9},
            "somethingNew": {"x": 1},
        }
    )
    assert info == EvalInfo(
        eval_id="abc",
        status="done",
        project="proj",
        version_id="3",
        model_id="proj/3",
        created_at=datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
        summary={"mAP": 0.9},
    )


def test_eval_info_legacy_fields_and_nulls():
    info = parse_eval_info({"id": "old", "status": "running", "projectId": "p", "versionId": 7})
    assert info.eval_id == "old"
    assert info.project == "p"
    assert info.version_id == "7"
    assert info.model_id is None
    assert info.created_at is None
    assert parse_eval_info({"evalId": "x", "status": "done", "project": None}).project is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T02:00:00+02:00", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),  # naive: UTC
        (1767225600, datetime(2026, 1, 1, tzinfo=UTC)),  # epoch seconds
        (1767225600000, datetime(2026, 1, 1, tzinfo=UTC)),  # epoch milliseconds
        (1767225600.5, datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("1767225600000", datetime(2026, 1, 1, tzinfo=UTC)),
        ({"_seconds": 1767225600, "_nanoseconds": 0}, datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_eval_info_created_at_forms(value, expected):
    info = parse_eval_info({"evalId": "a", "status": "done", "createdAt": value})
    assert info.created_at == expected
    assert info.created_at is not None
    assert info.created_at.tzinfo is not None


def test_eval_info_keeps_offset_timezone():
    info = parse_eval_info({"evalId": "a", "status": "done", "createdAt": "2026-01-01T02:00+02:00"})
    assert info.created_at is not None
    assert info.created_at.utcoffset() == timedelta(hours=2)
    assert info.created_at.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "expected a JSON object, got a list"),
        ({"status": "done"}, "no evalId"),
        ({"evalId": "", "status": "done"}, "no evalId"),
        ({"evalId": True, "status": "done"}, "boolean"),
        ({"evalId": "a"}, "no status"),
        ({"evalId": "a", "status": 3}, "no status"),
        ({"evalId": "a", "status": "done", "project": ["p"]}, "'project' is a list"),
        ({"evalId": "a", "status": "done", "createdAt": "yesterday"}, "createdAt"),
        ({"evalId": "a", "status": "done", "createdAt": True}, "createdAt is a boolean"),
        ({"evalId": "a", "status": "done", "createdAt": float("nan")}, "createdAt"),
        ({"evalId": "a", "status": "done", "createdAt": 1e300}, "createdAt is out of range"),
    ],
)
def test_eval_info_unusable_is_bad_response(data, fragment):
    with pytest.raises(BadResponse, match="eval info") as info:
        parse_eval_info(data)
    assert fragment in str(info.value)
    assert not info.value.retryable


# --------------------------------------------------------------------------- eval list

ENTRY = {"evalId": "a", "status": "done", "createdAt": "2026-01-01T00:00:00Z"}


def test_list_from_a_plain_list():
    assert [e.eval_id for e in parse_eval_list([ENTRY, {**ENTRY, "evalId": "b"}])] == ["a", "b"]
    assert parse_eval_list([]) == []


@pytest.mark.parametrize("key", LIST_KEYS)
def test_list_from_each_known_wrapper_key(key):
    result = parse_eval_list({key: [ENTRY], "nextPageToken": None})
    assert [e.eval_id for e in result] == ["a"]


def test_list_wrapper_skips_keys_that_are_not_lists():
    assert [e.eval_id for e in parse_eval_list({"data": {"x": 1}, "results": [ENTRY]})] == ["a"]


def test_list_without_a_list_is_bad_response():
    with pytest.raises(BadResponse, match=r"no list of evals \(looked for evals, modelEvals"):
        parse_eval_list({"count": 3})
    with pytest.raises(BadResponse, match="got a string"):
        parse_eval_list("evals")


def test_list_fails_closed_naming_the_bad_entry():
    with pytest.raises(BadResponse) as info:
        parse_eval_list({"evals": [ENTRY, {"evalId": "b"}, ENTRY]})
    assert "entry #1" in str(info.value)
    assert "no status" in str(info.value)


# --------------------------------------------------------------------------- retry-after


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 10 ", 10.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),  # in the past
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Sun, 99 Foo 2026", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_naive_now_is_utc():
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:10 GMT", NOW.replace(tzinfo=None)) == 10.0


# --------------------------------------------------------------------------- retry policy


def test_backoff_is_exponential_full_jitter_and_capped():
    policy = RetryPolicy(base=0.5, cap=10.0)
    assert policy.delay(1, retry_after=None, rand=lambda: 0.5) == 0.25
    assert policy.delay(3, retry_after=None, rand=lambda: 0.5) == 1.0
    assert policy.delay(3, retry_after=None, rand=lambda: 0.0) == 0.0
    assert policy.delay(20, retry_after=None, rand=lambda: 0.999) <= 10.0
    assert policy.delay(100_000, retry_after=None, rand=lambda: 0.5) == 5.0  # no overflow


def test_backoff_never_shorter_than_clamped_retry_after():
    policy = RetryPolicy(base=0.5, cap=10.0, max_retry_after=60.0)
    assert policy.delay(1, retry_after=3.0, rand=lambda: 0.5) == 3.0
    assert policy.delay(5, retry_after=1.0, rand=lambda: 0.9) == pytest.approx(7.2)
    assert policy.delay(1, retry_after=3600.0, rand=lambda: 0.5) == 60.0
    assert policy.delay(1, retry_after=-5.0, rand=lambda: 0.5) == 0.25
    assert policy.delay(1, retry_after=float("nan"), rand=lambda: 0.5) == 0.25


def test_retry_policy_validates():
    assert RetryPolicy().attempts == 4
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="cap"):
        RetryPolicy(cap=-1)
    with pytest.raises(ValueError, match="base"):
        RetryPolicy(base=float("nan"))


# --------------------------------------------------------------------------- redact

SECRET = "rf_Abc/def+ghi=jk"


def test_redact_plain_and_percent_encoded_forms():
    text = f"key={SECRET} url=/x?api_key=rf_Abc%2Fdef%2Bghi%3Djk plus=rf_Abc%2Fdef%2Bghi%3Djk"
    redacted = redact(text, [SECRET])
    assert redacted == "key=*** url=/x?api_key=*** plus=***"


def test_redact_ignores_empty_and_short_secrets():
    assert redact("abc and more", ["", "abc"]) == "abc and more"
    assert redact("abcd and more", ["abcd"]) == "*** and more"


def test_redact_longest_secret_first():
    assert redact("token-123456", ["token", "token-123456"]) == "***"


def test_redacting_processor_walks_nested_values():
    processor = redacting_processor([SECRET])
    event = {
        "event": f"saw {SECRET}",
        "nested": {"list": [SECRET, 1, None], "tuple": (f"x{SECRET}",), SECRET: True},
        "url": URL(f"https://h/x?api_key={SECRET}"),
        "raw": SECRET.encode(),
        "number": 3.5,
        "clean": URL("https://h/x"),
    }
    out = processor(None, "info", event)
    assert out["event"] == "saw ***"
    assert out["nested"] == {"list": ["***", 1, None], "tuple": ("x***",), "***": True}
    assert SECRET not in str(out["url"])
    assert "rf_Abc%2F" not in str(out["url"])
    assert out["raw"] == "***"
    assert out["number"] == 3.5
    assert isinstance(out["clean"], URL)  # objects without secrets are left alone


def fail(exc: Exception) -> None:
    raise exc


def test_redacting_processor_renders_and_redacts_exceptions():
    processor = redacting_processor([SECRET])
    try:
        fail(RuntimeError(f"failed with {SECRET}"))
    except RuntimeError as exc:
        out = processor(None, "error", {"event": "boom", "exc_info": exc})
    assert "exc_info" not in out
    assert "RuntimeError: failed with ***" in out["exception"]
    assert SECRET not in out["exception"]


def test_redacting_processor_in_a_real_structlog_chain():
    stream = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(file=stream),
        processors=[
            redacting_processor([SECRET]),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    event = "roboflow.fail " + SECRET
    try:
        fail(ValueError(SECRET))
    except ValueError:
        logger.exception(event, url=f"/x?api_key={SECRET}")
    output = stream.getvalue()
    assert SECRET not in output
    assert "rf_Abc%2F" not in output
    assert "***" in output
    assert "ValueError" in output


def test_redacting_processor_after_format_exc_info():
    stream = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(file=stream),
        processors=[
            structlog.processors.format_exc_info,
            redacting_processor([SECRET]),
            structlog.processors.KeyValueRenderer(),
        ],
    )
    try:
        fail(ValueError(SECRET))
    except ValueError:
        logger.exception("x")
    assert SECRET not in stream.getvalue()
    assert "ValueError: ***" in stream.getvalue()
