"""The Fetcher's panels (confusion matrix, performance by class, per-image counts) through
RoboflowClient against the stand-in on 127.0.0.1: shared per run, bounded by the
concurrency limit, image pages asked concurrently and stitched in order, and every failure
a one-line error (PanelUnavailable where the data is missing or the run is offline)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from gate.core.errors import ResultsUnavailable, UsageError
from gate.core.results import MalformedResults
from gate.fetch import IMAGE_PAGE, Fetcher, FetchOptions, PanelUnavailable
from gate.http.retry import RetryPolicy, sleepless
from gate.local.sources import LazyRoboflow, RoboflowAccess
from gate.roboflow.api import InvalidPanelQuery, ServerError
from gate.roboflow.client import RoboflowClient
from gate.saved_results import SavedResults
from tests.roboflow_standin import HTML_502, RoboflowStandIn, Scripted, generated_panels

KEY = "rf_fetch_panels_Key/0123+="
IMAGES = [{"imageId": f"img-{k:05d}", "tp": k % 4, "fp": k % 3, "fn": k % 2} for k in range(5000)]
CONFUSION = {"classes": ["car", "bus", "background"], "matrix": [[5, 1, 2], [0, 3, 1], [4, 2, 0]]}


@pytest.fixture
def standin():
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval(
        "big",
        confusion={"test": CONFUSION},
        performance={"test": [{"className": "car", "precision": 0.5, "recall": None}]},
        images={"test": IMAGES, "valid": IMAGES[:7]},
    )
    fake.add_eval("nodata")
    yield fake
    for request in fake.requests:
        assert KEY not in request.raw_path


@pytest.fixture
def sleeps():
    with sleepless(jitter=0.5) as waits:
        yield SimpleNamespace(delays=waits)


def _fetcher(session, server, *, concurrency: int = 8) -> Fetcher:
    client = RoboflowClient(
        session,
        api_key=KEY,
        workspace="ws",
        api_url=f"http://{server.host}:{server.port}",
        timeout=5.0,
        retry=RetryPolicy(attempts=3, base=0.5, cap=10.0),
    )
    loop = asyncio.get_running_loop()
    return Fetcher(client, FetchOptions(concurrency=concurrency), clock=loop.time)


def assert_clean(exc: BaseException) -> None:
    message = str(exc)
    assert "\n" not in message
    assert KEY not in message and "Bearer" not in message


def image_requests(standin: RoboflowStandIn) -> list[dict[str, str]]:
    return [dict(r.query) for r in standin.requests if r.endpoint == "image-predictions"]


async def test_5000_images_come_in_5_pages_asked_concurrently_and_in_order(
    session, server, standin
):
    standin.latency = 0.1
    fetcher = _fetcher(session, server, concurrency=8)
    counts = await fetcher.image_counts("big", "test")
    assert [c.image_id for c in counts.images] == [i["imageId"] for i in IMAGES]
    assert [(c.tp, c.fp, c.fn) for c in counts.images] == [
        (i["tp"], i["fp"], i["fn"]) for i in IMAGES
    ]
    asked = image_requests(standin)
    assert asked[0] == {"split": "test", "offset": "0", "limit": str(IMAGE_PAGE)}
    assert sorted(int(q["offset"]) for q in asked) == [0, 1000, 2000, 3000, 4000]
    assert standin.max_in_flight >= 2  # the four pages after the first were in flight together


async def test_pages_stay_within_the_concurrency_limit(session, server, standin):
    standin.latency = 0.05
    fetcher = _fetcher(session, server, concurrency=1)
    counts = await fetcher.image_counts("big", "test")
    assert len(counts.images) == 5000
    assert standin.max_in_flight == 1


async def test_a_panel_is_fetched_once_per_run_however_often_it_is_asked(session, server, standin):
    fetcher = _fetcher(session, server)
    first, second = await asyncio.gather(
        fetcher.confusion("big", "test"), fetcher.confusion("big", "test")
    )
    assert first is second
    assert first.support("car") == 8
    assert first.micro_counts() == (8, 7, 4)  # fp: columns 9 + 6 - 8; fn: rows 8 + 4 - 8
    performance = await fetcher.class_performance("big", "test")
    assert performance.value("precision", "car") == 0.5
    await fetcher.class_performance("big", "test")
    small = await fetcher.image_counts("big", "valid")
    assert len(small.images) == 7
    await fetcher.image_counts("big", "valid")
    assert standin.count("confusion-matrix") == 1
    assert standin.count("performance-by-class") == 1
    assert standin.count("image-predictions") == 1  # 7 images: one page


async def test_an_image_seen_on_two_pages_is_malformed(session, server, standin):
    page_two = {
        "split": "test",
        "totalImages": 5000,
        "offset": 1000,
        "limit": 1000,
        "images": [
            {
                "imageId": name,
                "stats": {"truePositives": 1, "falsePositives": 0, "falseNegatives": 0},
            }
            for name in ["img-00003", *(f"other-{k}" for k in range(999))]
        ],
    }
    # One page at a time, so the requests come in offset order: the normal first page, then
    # page two (offset 1000), which lists an image of page one again.
    standin.script("image-predictions", [Scripted(), Scripted(200, page_two)])
    fetcher = _fetcher(session, server, concurrency=1)
    with pytest.raises(MalformedResults) as caught:
        await fetcher.image_counts("big", "test")
    assert "lists image 'img-00003' twice" in str(caught.value)
    assert_clean(caught.value)


async def test_a_short_last_page_stops_short_of_the_total(session, server, standin):
    standin.add_eval("short", images={"test": IMAGES[:2500]})
    # The last page (offset 2000) answers 300 images of its 500.
    short_page = {
        "split": "test",
        "totalImages": 2500,
        "offset": 2000,
        "limit": 1000,
        "images": [
            {
                "imageId": f"img-{k:05d}",
                "stats": {"truePositives": 0, "falsePositives": 0, "falseNegatives": 1},
            }
            for k in range(2000, 2300)
        ],
    }
    fetcher = _fetcher(session, server, concurrency=1)
    standin.script("image-predictions", [Scripted(), Scripted(), Scripted(200, short_page)])
    with pytest.raises(MalformedResults) as caught:
        await fetcher.image_counts("short", "test")
    assert str(caught.value) == (
        "image-predictions of eval short stopped at 2,300 of 2,500 images (split test)"
    )


async def test_a_page_that_answers_another_offset_is_malformed(session, server, standin):
    wrong = {"totalImages": 5000, "offset": 0, "images": []}
    standin.script("image-predictions", [Scripted(), Scripted(200, wrong)])
    fetcher = _fetcher(session, server, concurrency=1)
    with pytest.raises(MalformedResults, match="answered offset 0 when asked for offset 1,000"):
        await fetcher.image_counts("big", "test")


async def test_more_than_100000_images_are_refused_after_one_page(session, server, standin):
    huge = {"totalImages": 100_001, "offset": 0, "images": []}
    standin.script("image-predictions", [Scripted(200, huge)])
    fetcher = _fetcher(session, server)
    with pytest.raises(MalformedResults, match="more than 100,000 images"):
        await fetcher.image_counts("big", "test")
    assert standin.count("image-predictions") == 1


async def test_a_failed_page_cancels_the_others_and_fails_the_images(
    session, server, standin, sleeps
):
    standin.script("image-predictions", [Scripted(), *[Scripted(502, HTML_502)] * 3])
    fetcher = _fetcher(session, server, concurrency=1)
    with pytest.raises(ServerError) as caught:
        await fetcher.image_counts("big", "test")
    assert "HTTP 502 (non-JSON error page)" in str(caught.value)
    assert_clean(caught.value)
    # The first page, page two tried 3 times, and at most the next page, which may have
    # taken the freed slot before the failure cancelled it; the pages after it never went.
    offsets = [int(q["offset"]) for q in image_requests(standin)]
    assert offsets[:4] == [0, 1000, 1000, 1000]
    assert set(offsets[4:]) <= {2000}
    await asyncio.sleep(0.1)
    assert len(image_requests(standin)) == len(offsets)


async def test_409_on_a_done_eval_is_panel_unavailable_naming_the_panel(session, server, standin):
    fetcher = _fetcher(session, server)
    expected = {
        fetcher.confusion: "the confusion matrix of eval nodata (split test)",
        fetcher.class_performance: "the performance by class of eval nodata (split test)",
        fetcher.image_counts: "the image predictions of eval nodata (split test)",
    }
    for method, subject in expected.items():
        with pytest.raises(PanelUnavailable) as caught:
            await method("nodata", "test")
        assert str(caught.value) == (
            f"{subject} is not available on Roboflow (409 model_eval_not_done)"
        )
        assert isinstance(caught.value, ResultsUnavailable)
        assert caught.value.eval_id == "nodata"
    assert standin.count("info") == 0  # no waiting: the eval's map-results came already


async def test_429_with_retry_after_and_a_cut_body_are_retried(session, server, standin, sleeps):
    standin.script(
        "confusion-matrix", [Scripted(429, headers={"Retry-After": "2"}), Scripted(truncate=True)]
    )
    fetcher = _fetcher(session, server)
    matrix = await fetcher.confusion("big", "test")
    assert matrix.classes == ("car", "bus", "background")
    assert standin.count("confusion-matrix") == 3
    assert sleeps.delays[0] >= 2.0


async def test_a_bad_split_is_a_one_line_results_unavailable(session, server, standin):
    fetcher = _fetcher(session, server)
    with pytest.raises(InvalidPanelQuery) as caught:
        await fetcher.class_performance("big", "all")
    assert isinstance(caught.value, ResultsUnavailable)
    assert_clean(caught.value)
    with pytest.raises(InvalidPanelQuery, match="does not take split 'holdout'"):
        await fetcher.confusion("big", "holdout")


async def test_offline_the_panels_are_unavailable_not_a_usage_error():
    loop = asyncio.get_running_loop()
    source = SavedResults({"big": {"taskType": "object-detection-like", "splits": {}}})
    fetcher = Fetcher(source, FetchOptions(), clock=loop.time)
    for method, panel in (
        (fetcher.confusion, "the confusion matrix"),
        (fetcher.class_performance, "the performance by class"),
        (fetcher.image_counts, "the image predictions"),
    ):
        with pytest.raises(PanelUnavailable) as caught:
            await method("big", "test")
        assert not isinstance(caught.value, UsageError)
        assert str(caught.value) == (
            f"{panel} of eval big is not in its saved results (an eval read from a file is "
            "never fetched): save the panel beside its map-results, as a saved evaluation"
        )


async def test_saved_results_with_the_api_fetch_the_panels_through_lazy_roboflow(server, standin):
    access = RoboflowAccess(api_key=KEY, api_url=f"http://{server.host}:{server.port}")
    api = LazyRoboflow(access, "ws")
    try:
        source = SavedResults({"other": {}}, fallback=api)  # big is not in the files
        fetcher = Fetcher(source, FetchOptions(), clock=asyncio.get_running_loop().time)
        matrix = await fetcher.confusion("big", "test")
        performance = await fetcher.class_performance("big", "test")
        counts = await fetcher.image_counts("big", "valid")
    finally:
        await api.close()
    assert matrix.support("bus") == 4
    assert performance.value("precision", "car") == 0.5
    assert [c.image_id for c in counts.images] == [i["imageId"] for i in IMAGES[:7]]


async def test_generated_panels_pair_images_across_evals_of_a_version(session, server, standin):
    standin.add_eval("g1", **generated_panels(["a", "b"], images=1500, seed=1))
    standin.add_eval("g2", **generated_panels(["a", "b"], images=1500, seed=2))
    fetcher = _fetcher(session, server)
    one, two = await asyncio.gather(
        fetcher.image_counts("g1", "test"), fetcher.image_counts("g2", "test")
    )
    assert [c.image_id for c in one.images] == [c.image_id for c in two.images]
    matrix = await fetcher.confusion("g1", "test")
    assert matrix.micro_counts() == (
        sum(c.tp for c in one.images),
        sum(c.fp for c in one.images),
        sum(c.fn for c in one.images),
    )
    assert one.counts() == matrix.micro_counts()
