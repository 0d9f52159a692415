"""Saved evaluations: a results file may hold the panels beside the map-results, so a gate
with support, detection precision/recall/F1 and confidence rules runs offline."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gate.core.errors import UsageError
from gate.core.results import MalformedResults
from gate.fetch import Fetcher, FetchOptions, PanelUnavailable
from gate.saved_results import SavedResults
from tests.roboflow_standin import detection_results

IMAGES = [
    {
        "imageId": f"img-{k:05d}",
        "stats": {"truePositives": 3, "falsePositives": 1, "falseNegatives": 0},
    }
    for k in range(2500)
]
MATRIX = {"split": "test", "classes": ["car", "background"], "matrix": [[9, 1], [2, 0]]}


def saved(**panels: Any) -> dict[str, Any]:
    return {"map-results": detection_results(["car"]), **panels}


def fetcher(source: SavedResults) -> Fetcher:
    return Fetcher(source, FetchOptions(), clock=asyncio.get_running_loop().time)


async def test_a_saved_evaluation_serves_its_map_results_and_panels():
    source = SavedResults(
        {
            "e1": saved(
                **{
                    "confusion-matrix": {"test": MATRIX},
                    "performance-by-class": {
                        "test": {"split": "test", "classes": [{"className": "car", "recall": 0.9}]}
                    },
                    "image-predictions": {"test": {"split": "test", "images": IMAGES}},
                }
            )
        }
    )
    fetch = fetcher(source)
    results = await fetch.results("e1")
    assert results.split_names() == ["test", "valid", "train"]
    assert (await fetch.confusion("e1", "test")).support("car") == 10
    assert (await fetch.class_performance("e1", "test")).value("recall", "car") == 0.9
    images = await fetch.image_counts("e1", "test")
    assert [i.image_id for i in images.images] == [
        i["imageId"] for i in IMAGES
    ]  # three pages, stitched


async def test_a_plain_map_results_file_has_no_panels_offline():
    source = SavedResults({"e1": detection_results(["car"])})
    with pytest.raises(PanelUnavailable, match="is not in its saved results"):
        await source.confusion_matrix("e1", "test")


async def test_a_split_the_saved_evaluation_lacks_is_unavailable():
    source = SavedResults({"e1": saved(**{"confusion-matrix": {"test": MATRIX}})})
    with pytest.raises(PanelUnavailable, match="confusion matrix of eval e1"):
        await source.confusion_matrix("e1", "valid")


class Api:
    """A fallback that records what it is asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        self.asked.append(("confusion-matrix", eval_id, split))
        return {"asked": [eval_id, split]}

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        self.asked.append(("performance-by-class", eval_id, split))
        return {"asked": [eval_id, split]}

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        self.asked.append(("image-predictions", eval_id, split))
        return {"asked": [eval_id, split]}

    async def eval_info(self, eval_id: str) -> Any:
        self.asked.append(("info", eval_id))
        raise AssertionError("asked")


async def test_an_eval_the_files_do_not_hold_is_asked_of_the_api():
    api = Api()
    source = SavedResults({"e1": saved()}, fallback=api)  # type: ignore[arg-type]
    assert await source.confusion_matrix("e2", "test") == {"asked": ["e2", "test"]}
    assert api.asked == [("confusion-matrix", "e2", "test")]


async def test_an_eval_read_from_a_file_is_never_asked_of_the_api_even_with_one():
    """Offline means offline: a panel the file lacks is unavailable (its checks follow
    `if_missing`), and its metadata is unknown, whatever key the run has."""
    api = Api()
    source = SavedResults(
        {"e1": saved(**{"confusion-matrix": {"test": MATRIX}}), "e2": detection_results(["car"])},
        fallback=api,  # type: ignore[arg-type]
    )
    for eval_id, split in (("e1", "valid"), ("e2", "test")):
        with pytest.raises(PanelUnavailable, match="an eval read from a file is never fetched"):
            await source.confusion_matrix(eval_id, split)
        with pytest.raises(PanelUnavailable, match="performance by class"):
            await source.performance_by_class(eval_id, split)
        with pytest.raises(PanelUnavailable, match="image predictions"):
            await source.image_predictions(eval_id, split, 0, 1000)
        with pytest.raises(UsageError, match="comes from a saved results file"):
            await source.eval_info(eval_id)
        assert not source.has_info(eval_id)
    assert await source.confusion_matrix("e1", "test") == MATRIX
    assert api.asked == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (saved(colour="red"), "unknown key 'colour'"),
        (saved(**{"confusion-matrix": [MATRIX]}), "must map each split"),
    ],
)
def test_a_saved_evaluation_of_the_wrong_shape_is_a_usage_error(document, message):
    with pytest.raises(UsageError, match=message):
        SavedResults({"e1": document})


async def test_a_saved_image_answer_with_a_wrong_total_is_bad_data():
    answer = {"split": "test", "totalImages": 3000, "images": IMAGES}
    source = SavedResults({"e1": saved(**{"image-predictions": {"test": answer}})})
    with pytest.raises(MalformedResults, match="stopped at 2,500 of 3,000 images"):
        await fetcher(source).image_counts("e1", "test")
