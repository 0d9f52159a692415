"""The command line in process (`gate.cli.main.run`) with rules that read Roboflow's other
panels: support and min_support, detection precision/recall/F1, and confidence intervals on
regressions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import Proc, clean_env, cli_async
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results

KEY = "rf_SECRET_key_panels_0123456789"


@pytest.fixture
def standin() -> RoboflowStandIn:
    return RoboflowStandIn(api_key=KEY, workspace="ws")


@pytest.fixture
async def api_url(aiohttp_server, standin) -> str:
    server = await aiohttp_server(standin.app())
    return str(server.make_url("")).rstrip("/")


async def gate(tmp_path: Path, api_url: str, config: str, *args: str) -> Proc:
    (tmp_path / "eval-gate.yml").write_text(config)
    env = clean_env(ROBOFLOW_API_KEY=KEY, ROBOFLOW_API_URL=api_url)
    proc = await cli_async("check", "--json", "gate.json", *args, cwd=tmp_path, env=env)
    assert "Traceback" not in proc.err
    assert KEY not in proc.out + proc.err
    return proc


def checks(tmp_path: Path) -> list[dict[str, Any]]:
    return json.loads((tmp_path / "gate.json").read_text())["checks"]


def confusion(rows: list[list[int]]) -> dict[str, Any]:
    return {"test": {"classes": ["car", "bus", "background"], "matrix": rows}}


def images(shifts: list[int], *, tp: int = 8, fp: int = 2) -> dict[str, list[dict[str, Any]]]:
    """One image per shift: `tp - shift` true positives turned into false ones."""
    return {
        "test": [
            {"imageId": f"img-{i:05d}", "tp": tp - s, "fp": fp + s, "fn": 1}
            for i, s in enumerate(shifts)
        ]
    }


PER_CLASS = """\
version: 1
workspace: ws
rules:
  - metric: map50
    classes: "*"
    min: 0.5
    min_support: 10
"""


async def test_per_class_checks_show_support_and_rare_classes_are_skipped(
    tmp_path, standin, api_url
):
    standin.add_eval(
        "e1",
        map_results=detection_results({"car": 0.9, "bus": 0.2}),
        confusion=confusion([[95, 0, 5], [0, 2, 1], [9, 0, 0]]),
    )
    proc = await gate(tmp_path, api_url, PER_CLASS, "--eval", "e1")
    assert proc.code == 0, proc.err  # bus (0.2) would fail, but has 3 objects: skipped
    by_class = {c["class"]: c for c in checks(tmp_path)}
    assert by_class["car"]["support"] == 100
    assert by_class["car"]["status"] == "pass"
    assert by_class["bus"]["status"] == "skip"
    assert "3 ground-truth objects" in by_class["bus"]["message"]
    assert standin.count("confusion-matrix") == 1


async def test_min_support_without_a_confusion_matrix_fails_closed(tmp_path, standin, api_url):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.2}))
    proc = await gate(tmp_path, api_url, PER_CLASS, "--eval", "e1")
    assert proc.code == 1
    assert {c["status"] for c in checks(tmp_path)} == {"fail"}
    assert "confusion matrix" in checks(tmp_path)[0]["message"]


async def test_support_asked_only_for_the_report_never_fails_the_gate(tmp_path, standin, api_url):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9}))
    standin.script("confusion-matrix", [Scripted(500)] * 10)
    config = 'version: 1\nworkspace: ws\nrules:\n  - {metric: map50, classes: "*", min: 0.5}\n'
    proc = await gate(tmp_path, api_url, config, "--eval", "e1")
    assert proc.code == 0, proc.err
    assert checks(tmp_path)[0]["support"] is None


async def test_split_precision_of_a_detection_eval_comes_from_its_confusion_matrix(
    tmp_path, standin, api_url
):
    standin.add_eval("e1", confusion=confusion([[90, 0, 10], [0, 0, 0], [30, 0, 0]]))
    config = "version: 1\nworkspace: ws\nrules:\n  - precision >= 0.8\n  - recall >= 0.8\n"
    proc = await gate(tmp_path, api_url, config, "--eval", "e1")
    assert proc.code == 1
    precision, recall = checks(tmp_path)
    assert precision["actual"] == pytest.approx(0.75)
    assert precision["status"] == "fail"
    assert recall["actual"] == pytest.approx(0.9)
    assert recall["status"] == "pass"


CONFIDENT = """\
version: 1
workspace: ws
evals:
  - id: cand
    baseline: prev
rules:
  - metric: precision
    max_drop: 0.02
    confidence: 0.95
"""


def counted(listed: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The confusion matrix the images add up to (every object a car)."""
    tp, fp, fn = (sum(image[k] for image in listed["test"]) for k in ("tp", "fp", "fn"))
    return confusion([[tp, 0, fn], [0, 0, 0], [fp, 0, 0]])


def pair(standin: RoboflowStandIn, shifts: list[int]) -> None:
    before, after = images([0] * len(shifts)), images(shifts)
    standin.add_eval("prev", confusion=counted(before), images=before)
    standin.add_eval("cand", confusion=counted(after), images=after)


async def test_a_drop_the_test_set_resolves_fails_with_its_interval(tmp_path, standin, api_url):
    pair(standin, [1, 0, 1, 0, 2, 0, 0, 1] * 250)  # 2,000 images, precision down ~0.06
    proc = await gate(tmp_path, api_url, CONFIDENT)
    assert proc.code == 1, proc.err
    (check,) = checks(tmp_path)
    assert check["interval"]["judgement"] == "fail"
    assert check["interval"]["paired_images"] == 2000
    assert check["interval"]["high"] < -0.02
    assert standin.count("image-predictions") == 4  # two pages of 1,000 per eval
    report = proc.out
    assert "95%:" in report


async def test_the_same_drop_on_a_tiny_test_set_is_an_inconclusive_warning(
    tmp_path, standin, api_url
):
    pair(standin, [3, -2, 2, 0, -1, 3, 0, 1])  # 8 images, precision down ~0.07
    proc = await gate(tmp_path, api_url, CONFIDENT)
    assert proc.code == 0, proc.err  # a warning does not fail the step (fail-on: error)
    (check,) = checks(tmp_path)
    assert check["status"] == "warn"
    assert check["interval"]["judgement"] == "inconclusive"
    assert check["interval"]["difference"] < -0.02 < check["interval"]["high"]
    assert "inconclusive" in proc.out


async def test_missing_per_image_counts_follow_if_missing(tmp_path, standin, api_url):
    ones = confusion([[80, 0, 10], [0, 0, 0], [20, 0, 0]])
    standin.add_eval("prev", confusion=ones)
    standin.add_eval("cand", confusion=ones)
    proc = await gate(tmp_path, api_url, CONFIDENT)
    assert proc.code == 1
    (check,) = checks(tmp_path)
    assert check["status"] == "fail"
    assert "image" in check["message"]


RECALL_SKIPPABLE = """\
version: 1
workspace: ws
evals:
  - id: cand
    baseline: prev
rules:
  - metric: recall
    max_drop: 0.02
    confidence: 0.95
    if_missing: skip
"""


async def test_a_matrix_that_contradicts_its_per_image_counts_fails_as_malformed_data(
    tmp_path, standin, api_url
):
    # The candidate's matrix says recall fell from 0.90 to 0.50; its per-image counts (the
    # baseline's, unchanged) say nothing moved. Before, the interval judged the counts and the
    # check passed, printing "-0.4000 (95%: ±0.0000 to ±0.0000)".
    listed = {"test": [{"imageId": f"img-{i:04d}", "tp": 9, "fp": 1, "fn": 1} for i in range(200)]}
    standin.add_eval("prev", confusion=counted(listed), images=listed)  # tp 1800, fn 200: 0.90
    standin.add_eval(
        "cand", confusion=confusion([[1000, 0, 1000], [0, 0, 0], [200, 0, 0]]), images=listed
    )
    proc = await gate(tmp_path, api_url, RECALL_SKIPPABLE)
    assert proc.code == 1, proc.err
    (check,) = checks(tmp_path)
    assert check["status"] == "error"
    assert check["interval"] is None
    assert (
        "image-predictions and the confusion matrix of eval cand (split test) disagree"
        in check["message"]
    )
    assert "true positives 1,800 vs 1,000 (off by 800)" in check["message"]
    assert "±" not in proc.out


async def test_precision_undefined_on_every_paired_image_fails_as_bad_data_even_with_skip(
    tmp_path, standin, api_url
):
    # The candidate predicts nothing on the 200 images it shares with its baseline (its few
    # predictions are on an image the baseline lacks): its precision drop cannot be judged on
    # the paired images. Before, that was "missing" and `if_missing: skip` let it pass.
    before = {"test": [{"imageId": f"img-{i:04d}", "tp": 9, "fp": 1, "fn": 1} for i in range(200)]}
    after = {
        "test": [{"imageId": f"img-{i:04d}", "tp": 0, "fp": 0, "fn": 10} for i in range(200)]
        + [{"imageId": "new-0001", "tp": 5, "fp": 1, "fn": 0}]
    }
    standin.add_eval("prev", confusion=counted(before), images=before)
    standin.add_eval("cand", confusion=counted(after), images=after)
    proc = await gate(tmp_path, api_url, RECALL_SKIPPABLE.replace("recall", "precision"))
    assert proc.code == 1, proc.err
    (check,) = checks(tmp_path)
    assert check["status"] == "error"
    assert check["message"] == (
        "malformed paired per-image counts: precision is undefined for the candidate on the "
        "200 paired images: it made no predictions there"
    )
