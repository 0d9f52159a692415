"""The panels (confusion-matrix, performance-by-class, image-predictions): their paths and
answers (sans-I/O), the stand-in's documented behaviour, and RoboflowClient against it on
127.0.0.1 with the faults map-results meets (409, 429, HTML 502, cut bodies)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from gate.core.panels import parse_confusion_matrix, parse_image_page, parse_performance_by_class
from gate.http.retry import RetryPolicy, sleepless
from gate.roboflow.api import (
    AuthError,
    BadResponse,
    EvalNotFound,
    InvalidPanelQuery,
    NotReady,
    RateLimited,
    ServerError,
    TransportError,
    confusion_matrix_path,
    error_code,
    image_predictions_path,
    parse_panel_response,
    performance_by_class_path,
)
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import (
    HTML_502,
    MAX_IMAGE_LIMIT,
    RoboflowStandIn,
    Scripted,
    generated_panels,
)

KEY = "rf_Panel/Key+with=chars_0123"
ENCODED_KEY = "rf_Panel%2FKey%2Bwith%3Dchars_0123"
CONFUSION = {
    "classes": ["Car-rims", "music-note", "background"],
    "matrix": [[20, 0, 0], [0, 0, 0], [80, 0, 0]],
}
PERFORMANCE = [
    {"className": "Car-rims", "map50": 0.9, "precision": 0.2, "recall": 1.0, "f1": 0.333333},
    {"className": "music-note", "map50": None, "precision": None, "recall": None, "f1": None},
]
IMAGES = [{"imageId": f"img-{k}", "tp": k % 3, "fp": k % 2, "fn": 1} for k in range(450)]


@pytest.fixture
def standin():
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval(
        "abc",
        confusion={"test": CONFUSION},
        performance={"test": PERFORMANCE},
        images={"test": IMAGES},
    )
    fake.add_eval("run", status="running", **generated_panels(["a"], images=3))
    fake.add_eval("nodata")  # done, but without panel data: 409 as Roboflow answers then
    yield fake
    for request in fake.requests:  # the key only ever travelled in the Authorization header
        for text in (request.raw_path, request.query_string, request.path):
            assert KEY not in text
            assert ENCODED_KEY not in text


@pytest.fixture
def sleeps():
    with sleepless(jitter=0.5) as waits:
        yield SimpleNamespace(delays=waits)


@pytest.fixture
def client(session, server, sleeps):
    return RoboflowClient(
        session,
        api_key=KEY,
        workspace="ws",
        api_url=f"http://{server.host}:{server.port}",
        timeout=2.0,
        retry=RetryPolicy(attempts=3, base=0.5, cap=10.0),
    )


def assert_clean(exc: BaseException) -> None:
    message = str(exc)
    assert "\n" not in message
    assert KEY not in message and ENCODED_KEY not in message and "Bearer" not in message


# --------------------------------------------------------------------------- sans-I/O


def test_panel_paths_carry_their_query_and_quote_every_segment():
    assert confusion_matrix_path("ws", "a/b", split="test") == (
        "/ws/model-evals/a%2Fb/confusion-matrix?split=test"
    )
    assert confusion_matrix_path("ws", "e", split="all", confidence=35) == (
        "/ws/model-evals/e/confusion-matrix?split=all&confidence=35"
    )
    assert performance_by_class_path("ws", "e", split="valid") == (
        "/ws/model-evals/e/performance-by-class?split=valid"
    )
    assert image_predictions_path("ws", "e", split="test", offset=2000, limit=1000) == (
        "/ws/model-evals/e/image-predictions?split=test&offset=2000&limit=1000"
    )
    assert "api_key" not in image_predictions_path("ws", "e", split="a b&c", offset=0, limit=1)
    assert image_predictions_path("ws", "e", split="a b&c", offset=0, limit=1).endswith(
        "?split=a%20b%26c&offset=0&limit=1"
    )


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: performance_by_class_path("ws", "e", split="all"), "not 'all'"),
        (lambda: confusion_matrix_path("ws", "e", split=""), "is not a split name"),
        (lambda: confusion_matrix_path("ws", "e", split="test", confidence=101), "0..100"),
        (lambda: confusion_matrix_path("ws", "e", split="test", confidence=-1), "0..100"),
        (
            lambda: image_predictions_path("ws", "e", split="test", offset=0, limit=1001),
            "limit must be 1..1000",
        ),
        (
            lambda: image_predictions_path("ws", "e", split="test", offset=0, limit=0),
            "limit must be 1..1000",
        ),
        (
            lambda: image_predictions_path("ws", "e", split="test", offset=-1, limit=10),
            "offset must be >= 0",
        ),
    ],
)
def test_a_panel_query_the_api_refuses_is_refused_before_sending(build, expected):
    with pytest.raises(ValueError, match=expected):
        build()


JSON = {"Content-Type": "application/json"}


def _error(code: str, message: str = "m") -> bytes:
    return json.dumps({"error": code, "message": message}).encode()


def test_400_invalid_split_and_invalid_confidence_are_typed_one_line_errors():
    with pytest.raises(InvalidPanelQuery) as caught:
        parse_panel_response(
            400,
            JSON,
            _error("invalid_split", "bad\nsplit"),
            what="performance-by-class of eval e (split all)",
            split="all",
            eval_id="e",
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("performance-by-class of eval e (split all): HTTP 400 (invalid_split")
    assert "does not take split 'all'" in message
    assert caught.value.eval_id == "e" and caught.value.status == 400
    with pytest.raises(InvalidPanelQuery, match="bug in eval-gate"):
        parse_panel_response(
            400, JSON, _error("invalid_confidence"), what="w", split="test", eval_id="e"
        )
    # Any other 400 is the generic bad request, not a panel query error.
    with pytest.raises(Exception, match="rejected the request") as other:
        parse_panel_response(400, JSON, _error("weird"), what="w", split="test", eval_id="e")
    assert not isinstance(other.value, InvalidPanelQuery)


def test_a_panel_answer_is_an_object_and_errors_are_map_results_errors():
    assert parse_panel_response(200, JSON, b'{"a": 1}', what="w", split="t", eval_id="e") == {
        "a": 1
    }
    with pytest.raises(BadResponse, match="expected a JSON object, got a list"):
        parse_panel_response(200, JSON, b"[1]", what="w", split="t", eval_id="e")
    with pytest.raises(NotReady):
        parse_panel_response(
            409, JSON, _error("model_eval_not_done"), what="w", split="t", eval_id="e"
        )
    with pytest.raises(ServerError, match="non-JSON error page"):
        parse_panel_response(
            502, {"Content-Type": "text/html"}, HTML_502.encode(), what="w", split="t", eval_id="e"
        )
    assert error_code(JSON, _error("invalid_split")) == "invalid_split"
    assert error_code(JSON, b'{"error": {"type": "invalid_split"}}') == "invalid_split"
    assert error_code({"Content-Type": "text/html"}, HTML_502.encode()) is None


# ------------------------------------------------------------------------ the client and stand-in


async def test_the_three_panels_answer_in_the_documented_shapes(client, standin):
    confusion = await client.confusion_matrix("abc", "test")
    assert confusion == {"split": "test", "confidenceThreshold": 0.2, **CONFUSION}
    assert parse_confusion_matrix(confusion, "abc", "test").micro_counts() == (20, 80, 0)
    performance = await client.performance_by_class("abc", "test")
    assert performance["taskType"] == "object-detection-like"
    assert (
        parse_performance_by_class(performance, "abc", "test").value("precision", "Car-rims") == 0.2
    )
    page = await client.image_predictions("abc", "test", 400, 1000)
    assert page["totalImages"] == 450 and page["offset"] == 400 and page["limit"] == 1000
    assert page["images"][0]["stats"]["truePositives"] == 400 % 3
    assert {"imageName", "split", "augmentations", "cluster"} <= set(page["images"][0])
    parsed = parse_image_page(page, "abc")
    assert [i.image_id for i in parsed.images] == [f"img-{k}" for k in range(400, 450)]
    paths = [r.raw_path for r in standin.requests]
    assert paths == [
        "/ws/model-evals/abc/confusion-matrix?split=test",
        "/ws/model-evals/abc/performance-by-class?split=test",
        "/ws/model-evals/abc/image-predictions?split=test&offset=400&limit=1000",
    ]
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in standin.requests)


async def test_the_standin_pages_images_with_its_defaults_and_refuses_bad_queries(
    session, server, standin
):
    async def get(query: str) -> tuple[int, dict]:
        url = str(server.make_url(f"/ws/model-evals/abc/image-predictions{query}"))
        async with session.get(url, headers={"Authorization": f"Bearer {KEY}"}) as answer:
            return answer.status, json.loads(await answer.read())

    status, body = await get("")
    assert status == 200 and body["split"] == "all" and body["limit"] == 200
    assert len(body["images"]) == 200 and body["totalImages"] == 450
    status, body = await get(f"?split=test&limit={MAX_IMAGE_LIMIT + 1}")
    assert status == 400
    status, body = await get("?split=nope")
    assert (status, body["error"]) == (400, "invalid_split")
    status, body = await get("?split=test&confidence=101")
    assert (status, body["error"]) == (400, "invalid_confidence")
    status, body = await get("?split=test&confidence=0.5")
    assert (status, body["error"]) == (400, "invalid_confidence")
    status, body = await get("?split=valid")
    assert (status, body["error"]) == (409, "model_eval_not_done")  # no data for valid


async def test_the_standin_sums_the_splits_for_the_all_confusion_matrix(client, standin):
    standin.add_eval("gen", **generated_panels(["a", "b"], images=20, seed=3))
    record = standin.evals["gen"]
    data = await client.confusion_matrix("gen", "all")
    expected = [
        [
            sum(record.confusion[s]["matrix"][i][j] for s in ("test", "valid", "train"))
            for j in range(3)
        ]
        for i in range(3)
    ]
    assert data["matrix"] == expected
    tp, fp, fn = parse_confusion_matrix(data, "gen", "all").micro_counts()
    images = [i for s in ("test", "valid", "train") for i in record.images[s]]
    assert (tp, fp, fn) == (
        sum(i["tp"] for i in images),
        sum(i["fp"] for i in images),
        sum(i["fn"] for i in images),
    )


async def test_performance_by_class_with_split_all_is_refused_without_a_request(client, standin):
    with pytest.raises(InvalidPanelQuery) as caught:
        await client.performance_by_class("abc", "all")
    assert "not 'all'" in str(caught.value)
    assert standin.count() == 0


async def test_a_split_the_panel_does_not_take_is_a_400_invalid_split(client, standin):
    with pytest.raises(InvalidPanelQuery) as caught:
        await client.confusion_matrix("abc", "holdout")
    assert "HTTP 400 (invalid_split" in str(caught.value)
    assert "does not take split 'holdout'" in str(caught.value)
    assert standin.count() == 1  # not retried
    assert_clean(caught.value)


@pytest.mark.parametrize("eval_id", ["run", "nodata"])
async def test_a_running_eval_or_missing_data_is_409_not_ready(client, standin, eval_id):
    for call in (
        client.confusion_matrix(eval_id, "test"),
        client.performance_by_class(eval_id, "test"),
        client.image_predictions(eval_id, "test", 0, 1000),
    ):
        with pytest.raises(NotReady) as caught:
            await call
        assert caught.value.status == 409
        assert_clean(caught.value)


async def test_an_unknown_eval_and_a_wrong_key_are_map_results_errors(
    client, standin, session, server
):
    with pytest.raises(EvalNotFound):
        await client.image_predictions("missing", "test", 0, 10)
    wrong = RoboflowClient(
        session,
        api_key="wrong-key-123",
        workspace="ws",
        api_url=f"http://{server.host}:{server.port}",
    )
    with pytest.raises(AuthError) as caught:
        await wrong.confusion_matrix("abc", "test")
    assert "wrong-key-123" not in str(caught.value)


async def test_429_with_retry_after_is_retried_on_a_panel(client, standin, sleeps):
    standin.script("confusion-matrix", [Scripted(429, headers={"Retry-After": "3"})])
    data = await client.confusion_matrix("abc", "test")
    assert data["classes"] == CONFUSION["classes"]
    assert standin.count("confusion-matrix") == 2
    assert len(sleeps.delays) == 1 and sleeps.delays[0] >= 3.0


async def test_429_forever_ends_rate_limited(client, standin, sleeps):
    standin.script("performance-by-class", [Scripted(429, headers={"Retry-After": "1"})] * 3)
    with pytest.raises(RateLimited) as caught:
        await client.performance_by_class("abc", "test")
    assert standin.count() == 3
    assert_clean(caught.value)


async def test_an_html_502_is_retried_then_a_one_line_server_error(client, standin, sleeps):
    standin.script("image-predictions", [Scripted(502, HTML_502)])
    page = await client.image_predictions("abc", "test", 0, 1000)
    assert len(page["images"]) == 450
    standin.script("image-predictions", [Scripted(502, HTML_502)] * 3)
    with pytest.raises(ServerError) as caught:
        await client.image_predictions("abc", "test", 0, 1000)
    assert "HTTP 502 (non-JSON error page)" in str(caught.value)
    assert "nginx" not in str(caught.value)
    assert_clean(caught.value)


async def test_a_truncated_panel_body_is_retried(client, standin, sleeps):
    standin.script("image-predictions", [Scripted(truncate=True)])
    page = await client.image_predictions("abc", "test", 0, 1000)
    assert page["totalImages"] == 450
    assert standin.count("image-predictions") == 2
    standin.script("confusion-matrix", [Scripted(truncate=True)] * 3)
    with pytest.raises(TransportError) as caught:
        await client.confusion_matrix("abc", "test")
    assert_clean(caught.value)
