"""`eval-gate serve` with confidence rules: the intervals' resampling is bounded before it is
done (400 `too_much_resampling`), and a request past its deadline stops mid-resampling."""

from __future__ import annotations

from typing import Any

import pytest

from gate.api.bounds import count_resampling
from gate.api.stopping import StopFlag, WorkStopped
from gate.core.bootstrap import DEFAULT_RESAMPLES
from gate.core.evaluate import EvalInput, evaluate
from gate.core.lookup import Panels
from gate.core.model import EvalSpec, GateConfig, Rule, Threshold, ThresholdKind
from gate.core.panels import ImageCounts, SplitImages, parse_confusion_matrix
from gate.core.results import parse_map_results
from tests.roboflow_standin import detection_results, generated_panels
from tests.server import test_server
from tests.server.test_server import call, gate_body

standin = test_server.standin
api_url = test_server.api_url
settings = test_server.settings
make_client = test_server.make_client
client = test_server.client

CONFIG: dict[str, Any] = {
    "version": 1,
    "workspace": "ws",
    "evals": [{"id": "cand", "baseline": "prev"}],
    "rules": [
        {"metric": "precision", "max_drop": 0.02, "confidence": 0.95},
        {"metric": "recall", "max_drop": 0.02, "confidence": 0.95},
    ],
}


def add_pair(standin: Any, images: int) -> None:
    for eval_id, seed in (("prev", 1), ("cand", 2)):
        panels = generated_panels(["car", "bus"], images=images, seed=seed, splits=("test",))
        standin.add_eval(eval_id, map_results=detection_results(["car", "bus"]), **panels)


async def test_a_request_within_the_resampling_bound_gets_its_intervals(make_client, standin):
    add_pair(standin, 300)
    client = await make_client(max_resampled=2 * 300 * DEFAULT_RESAMPLES)
    answer = await call(client, "POST", "/v1/gate", body=gate_body(config=CONFIG))
    assert answer.status == 200, answer.text
    intervals = [c["interval"] for c in answer.json["checks"]]
    assert all(i is not None and i["paired_images"] == 300 for i in intervals)


async def test_a_request_over_the_resampling_bound_is_refused_before_resampling(
    make_client, standin
):
    add_pair(standin, 300)
    client = await make_client(max_resampled=2 * 300 * DEFAULT_RESAMPLES - 1)
    answer = await call(client, "POST", "/v1/gate", body=gate_body(config=CONFIG))
    assert answer.status == 400, answer.text
    assert answer.json["error"] == "too_much_resampling"
    assert answer.json["resampled"] == 2 * 300 * DEFAULT_RESAMPLES
    assert "EVAL_GATE_MAX_RESAMPLED" in answer.json["message"]


def panels(n: int, prefix: str = "i") -> Panels:
    """`n` images and the confusion matrix they add up to."""
    listed = tuple(ImageCounts(f"{prefix}{k}", 5 + k % 3, 1 + k % 2, k % 2) for k in range(n))
    found = SplitImages("e", "test", listed, total=n)
    tp, fp, fn = found.counts()
    matrix = parse_confusion_matrix(
        {"classes": ["car", "background"], "matrix": [[tp, fn], [fp, 0]]}, "e", "test"
    )
    return Panels(confusion={"test": matrix}, images={"test": found})


def confident_input(cand: int, base: int) -> EvalInput:
    doc = detection_results(["car"], splits=("test",))
    return EvalInput(
        spec=EvalSpec("c", baseline="b"),
        results=parse_map_results(doc, "c"),
        baseline=parse_map_results(doc, "b"),
        baseline_id="b",
        panels=panels(cand),
        baseline_panels=panels(base),
    )


def rule(metric: str, confidence: float = 0.95) -> Rule:
    return Rule(metric, (Threshold(ThresholdKind.MAX_DROP, 0.1),), confidence=confidence)


def test_count_resampling_counts_each_interval_once_over_the_smaller_image_list():
    config = GateConfig(
        version=1,
        rules=(rule("precision"), rule("precision"), rule("recall"), rule("recall", 0.9)),
    )
    assert count_resampling(config, [confident_input(400, 250)]) == 3 * 250 * DEFAULT_RESAMPLES
    plain = GateConfig(version=1, rules=(Rule("map50", (Threshold(ThresholdKind.MIN, 0.1),)),))
    assert count_resampling(plain, [confident_input(400, 250)]) == 0


def test_a_stopped_flag_stops_the_resampling_between_chunks():
    flag = StopFlag()
    calls = 0

    def tick() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            flag.stop("deadline")
        flag.check()

    config = GateConfig(version=1, rules=(rule("precision"),))
    with pytest.raises(WorkStopped):
        evaluate(config, [confident_input(5000, 5000)], tick=tick)
    assert calls == 3  # of the ~190 chunks that 10,000 resamples of 5,000 images take
