"""Saved evaluations: a results file may hold the panels beside the map-results, so a gate
with support, detection precision/recall/F1 and confidence rules runs offline."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gate.core.errors import UsageError
from gate.core.results import MalformedResults
from gate.fetch import Fetcher, FetchOptions, PanelUnavailable, SavedResults
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
    with pytest.raises(PanelUnavailable, match="not in saved results"):
        await source.confusion_matrix("e1", "test")


async def test_a_split_the_saved_evaluation_lacks_is_unavailable():
    source = SavedResults({"e1": saved(**{"confusion-matrix": {"test": MATRIX}})})
    with pytest.raises(PanelUnavailable, match="confusion matrix of eval e1"):
        await source.confusion_matrix("e1", "valid")


async def test_what_the_files_lack_comes_from_the_api_when_there_is_one():
    class Api:
        async def confusion_matrix(self, eval_id: str, split: str) -> Any:
            return {"asked": [eval_id, split]}

    source = SavedResults({"e1": saved()}, fallback=Api())  # type: ignore[arg-type]
    assert await source.confusion_matrix("e1", "test") == {"asked": ["e1", "test"]}


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
