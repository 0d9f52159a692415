"""Rules that read Roboflow's other panels: detection precision/recall/F1, class support,
min_support, and confidence (paired bootstrap intervals on regressions)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gate.core.errors import ConfigError
from gate.core.evaluate import EvalInput, evaluate
from gate.core.lookup import Need, Panel, Panels, micro_value, needs, value
from gate.core.model import (
    ALL,
    EvalSpec,
    GateConfig,
    IfMissing,
    Provenance,
    Rule,
    Severity,
    Threshold,
    ThresholdKind,
)
from gate.core.outcome import Status, Verdict
from gate.core.panels import (
    ImageCounts,
    SplitImages,
    parse_confusion_matrix,
    parse_performance_by_class,
)
from gate.core.results import Malformed, Missing, parse_map_results

T, K = Threshold, ThresholdKind
CLASSES = ["car", "bus"]


def det_doc(classes: list[str] = CLASSES) -> dict[str, Any]:
    per_class = {name: {"map50": 0.8, "map50_95": 0.6, "map75": 0.7} for name in classes}
    split = {"map50": 0.8, "map50_95": 0.6, "map75": 0.7, "perClass": per_class}
    return {"taskType": "object-detection-like", "splits": {"test": split}}


def matrix(rows: list[list[int]], classes: list[str] = CLASSES, split: str = "test") -> Any:
    data = {"split": split, "confidenceThreshold": 0.2, "classes": [*classes, "background"]}
    data["matrix"] = rows
    return parse_confusion_matrix(data, "e", split)


def performance(entries: dict[str, dict[str, Any]], split: str = "test") -> Any:
    data = {
        "taskType": "object-detection-like",
        "split": split,
        "classes": [{"className": name, **values} for name, values in entries.items()],
    }
    return parse_performance_by_class(data, "e", split)


# car: 90 found of 100 (10 missed), 5 confused for a bus; bus: 3 objects, 1 found;
# 20 false detections of cars on background.
ROWS = [[90, 5, 5], [2, 1, 0], [20, 0, 0]]


def run(
    rules: list[Rule],
    panels: Panels,
    *,
    base_panels: Panels | None = None,
    provenance: Provenance | None = None,
) -> Any:
    doc = det_doc()
    inputs = [
        EvalInput(
            spec=EvalSpec("cand", baseline="base" if base_panels else None),
            results=parse_map_results(doc, "cand"),
            baseline=parse_map_results(doc, "base") if base_panels else None,
            baseline_id="base" if base_panels else None,
            panels=panels,
            baseline_panels=base_panels or Panels(),
            provenance=provenance,
        )
    ]
    return evaluate(GateConfig(version=1, rules=tuple(rules)), inputs)


def test_micro_precision_recall_and_f1_come_from_the_confusion_matrix():
    m = matrix(ROWS)
    # tp = 91; predicted foreground = 90+2+20 + 5+1+0 = 118; actual foreground = 100 + 3.
    assert micro_value(m, "precision") == pytest.approx(91 / 118)
    assert micro_value(m, "recall") == pytest.approx(91 / 103)
    assert micro_value(m, "f1") == pytest.approx(2 * 91 / (2 * 91 + 27 + 12))


def test_the_documented_example_matrix_gives_precision_0_2_and_recall_1():
    data = {
        "split": "test",
        "confidenceThreshold": 0.2,
        "classes": ["Car-rims", "music-note", "background"],
        "matrix": [[20, 0, 0], [0, 0, 0], [80, 0, 0]],
    }
    m = parse_confusion_matrix(data, "e", "test")
    assert micro_value(m, "precision") == pytest.approx(0.2)
    assert micro_value(m, "recall") == pytest.approx(1.0)


def test_precision_of_a_split_without_predictions_is_missing_not_zero():
    m = matrix([[0, 0, 4], [0, 0, 0], [0, 0, 0]])
    found = micro_value(m, "precision")
    assert isinstance(found, Missing)
    assert "undefined" in found.reason


def test_a_detection_rule_on_split_precision_passes_and_fails_by_the_micro_value():
    panels = Panels(confusion={"test": matrix(ROWS)})
    outcome = run([Rule("precision", (T(K.MIN, 0.77),))], panels)
    assert outcome.verdict is Verdict.PASS  # 91/118 = 0.771
    outcome = run([Rule("precision", (T(K.MIN, 0.78),))], panels)
    (check,) = outcome.checks
    assert check.status is Status.FAIL
    assert check.actual == pytest.approx(91 / 118)


def test_per_class_detection_recall_comes_from_performance_by_class():
    panels = Panels(
        confusion={"test": matrix(ROWS)},
        performance={"test": performance({"car": {"recall": 0.9}, "bus": {"recall": 0.33}})},
    )
    outcome = run([Rule("recall", (T(K.MIN, 0.5),), classes=ALL)], panels)
    by_class = {c.class_name: c for c in outcome.checks}
    assert by_class["car"].status is Status.PASS
    assert by_class["bus"].status is Status.FAIL
    assert by_class["car"].support == 100
    assert by_class["bus"].support == 3


def test_a_panel_that_could_not_be_had_follows_if_missing_and_never_passes():
    why = Missing("the confusion matrix of eval cand (split test) is not available")
    panels = Panels(confusion={"test": why})
    (check,) = run([Rule("f1", (T(K.MIN, 0.1),))], panels).checks
    assert check.status is Status.FAIL
    assert "not available" in check.message
    (check,) = run([Rule("f1", (T(K.MIN, 0.1),), if_missing=IfMissing.SKIP)], panels).checks
    assert check.status is Status.SKIP


def test_a_malformed_panel_is_an_error_whatever_if_missing_says():
    panels = Panels(confusion={"test": Malformed("the matrix is not square")})
    rule = Rule("recall", (T(K.MIN, 0.1),), if_missing=IfMissing.SKIP)
    (check,) = run([rule], panels).checks
    assert check.status is Status.ERROR


def test_per_class_checks_of_every_metric_carry_the_class_support():
    panels = Panels(confusion={"test": matrix(ROWS)})
    outcome = run([Rule("map50", (T(K.MIN, 0.5),), classes=ALL)], panels)
    assert {c.class_name: c.support for c in outcome.checks} == {"car": 100, "bus": 3}


def test_min_support_skips_rare_classes_with_a_note_giving_the_count():
    panels = Panels(confusion={"test": matrix(ROWS)})
    rule = Rule("map50", (T(K.MIN, 0.95),), classes=ALL, min_support=10)
    by_class = {c.class_name: c for c in run([rule], panels).checks}
    assert by_class["bus"].status is Status.SKIP
    assert "3 ground-truth objects" in by_class["bus"].message
    assert "min_support 10" in by_class["bus"].message
    assert by_class["car"].status is Status.FAIL  # 0.8 < 0.95: the frequent class still counts


def test_min_support_at_exactly_the_count_checks_the_class():
    panels = Panels(confusion={"test": matrix(ROWS)})
    rule = Rule("map50", (T(K.MIN, 0.5),), classes=["bus"], min_support=3)
    (check,) = run([rule], panels).checks
    assert check.status is Status.PASS


def test_min_support_with_an_unknown_support_follows_if_missing():
    panels = Panels(confusion={"test": Missing("not in saved results")})
    rule = Rule("map50", (T(K.MIN, 0.5),), classes=ALL, min_support=10)
    statuses = {c.status for c in run([rule], panels).checks}
    assert statuses == {Status.FAIL}
    rule = Rule("map50", (T(K.MIN, 0.5),), classes=ALL, min_support=10, if_missing=IfMissing.WARN)
    assert {c.status for c in run([rule], panels).checks} == {Status.WARN}


def test_needs_asks_only_for_what_the_rules_read():
    results = parse_map_results(det_doc(), "cand")
    assert needs((Rule("map50", (T(K.MIN, 0.5),)),), results, has_baseline=True) == set()
    per_class = Rule("map50", (T(K.MIN, 0.5),), classes=ALL)
    support_only = Need(Panel.CONFUSION, "test", baseline=False, decides=False)
    assert needs((per_class,), results, has_baseline=True) == {support_only}
    rare = Rule("map50", (T(K.MIN, 0.5),), classes=ALL, min_support=5)
    assert needs((per_class, rare), results, has_baseline=False) == {
        Need(Panel.CONFUSION, "test", baseline=False)
    }
    drop = Rule("recall", (T(K.MAX_DROP, 0.02),), confidence=0.95)
    assert needs((drop,), results, has_baseline=True) == {
        Need(Panel.CONFUSION, "test", False),
        Need(Panel.CONFUSION, "test", True),
        Need(Panel.IMAGES, "test", False),
        Need(Panel.IMAGES, "test", True),
    }
    segmentation = parse_map_results(
        {"taskType": "semantic-segmentation", "splits": {"test": {"miou": 0.5}}}, "s"
    )
    assert needs((Rule("recall", (T(K.MIN, 0.5),)),), segmentation, has_baseline=False) == set()


def test_segmentation_precision_still_comes_from_the_map_results():
    doc = {"taskType": "semantic-segmentation", "splits": {"test": {"precision": 0.61}}}
    results = parse_map_results(doc, "s")
    assert value(results, Panels(), "precision", "test") == pytest.approx(0.61)


# --------------------------------------------------------------------------- confidence


def images(n: int, tp: int, fp: int, fn: int, *, seed: int, prefix: str = "img") -> list:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(
            ImageCounts(
                f"{prefix}{i}",
                max(0, tp + rng.randint(-1, 1)),
                max(0, fp + rng.randint(-1, 1)),
                max(0, fn + rng.randint(-1, 1)),
            )
        )
    return out


def confident(
    cand: list[ImageCounts],
    base: list[ImageCounts],
    drop: float,
    *,
    provenance: Provenance | None = None,
    **kw: Any,
) -> Any:
    rule = Rule("precision", (T(K.MAX_DROP, drop),), confidence=0.95, **kw)
    return run([rule], counted(cand), base_panels=counted(base, "base"), provenance=provenance)


def counted(images_: list[ImageCounts], eval_id: str = "cand", **matrix_kw: Any) -> Panels:
    """An eval's panels of split test: its per-image counts and the confusion matrix they add
    up to (every object a car: true positives on its diagonal, false positives in the
    background row, missed cars in the background column)."""
    found = SplitImages(eval_id, "test", tuple(images_), total=len(images_), confidence=0.2)
    tp, fp, fn = found.counts()
    return Panels(
        confusion={"test": matrix([[tp, 0, fn], [0, 0, 0], [fp, 0, 0]])}, images={"test": found}
    )


def noisy(images_: list[ImageCounts], *, seed: int) -> list[ImageCounts]:
    """The same images, each with a random number of true positives turned false (or the
    other way): on average a drop of precision of about 0.05, image by image all over."""
    rng = random.Random(seed)
    out = []
    for i in images_:
        shift = rng.choice((-3, -2, -1, 0, 1, 2))  # mean -0.5 of 10 predictions
        shift = max(-i.tp, min(shift, i.fp))
        out.append(ImageCounts(i.image_id, i.tp + shift, i.fp - shift, i.fn))
    return out


def test_a_large_real_drop_beyond_the_margin_fails_with_its_interval():
    base = images(2000, 8, 2, 1, seed=1)
    cand = noisy(base, seed=7)
    (check,) = confident(cand, base, 0.02).checks
    assert check.status is Status.FAIL
    assert check.interval is not None
    assert check.interval.judgement == "fail"
    assert check.interval.high < -0.02
    assert "95% interval" in check.message
    assert "2,000 paired images" in check.message


def test_the_same_point_drop_on_a_tiny_test_set_is_an_inconclusive_warning():
    base = images(12, 8, 2, 1, seed=1)
    cand = noisy(base, seed=7)
    (check,) = confident(cand, base, 0.02).checks
    assert check.status is Status.WARN
    assert check.interval is not None
    assert check.interval.judgement == "inconclusive"
    assert "inconclusive" in check.message
    assert check.interval.point < -0.02 < check.interval.high


def test_identical_evals_pass_with_an_interval_around_zero():
    base = images(500, 8, 2, 1, seed=3)
    (check,) = confident(base, base, 0.01).checks
    assert check.status is Status.PASS
    assert check.interval is not None
    assert check.interval.low <= 0.0 <= check.interval.high


def test_a_warning_rule_that_fails_its_interval_warns():
    base = images(2000, 8, 2, 1, seed=1)
    (check,) = confident(noisy(base, seed=7), base, 0.02, severity=Severity.WARNING).checks
    assert check.status is Status.WARN


def test_the_verdict_is_the_same_on_every_rerun():
    base = images(300, 8, 2, 1, seed=5)
    cand = noisy(base, seed=3)
    first = [c.interval for c in confident(cand, base, 0.02).checks]
    again = [c.interval for c in confident(cand, base, 0.02).checks]
    assert first == again


def test_evals_on_different_dataset_versions_cannot_be_paired_and_follow_if_missing():
    base = images(100, 8, 2, 1, seed=1)
    provenance = Provenance(baseline_id="base", baseline_same_version=False)
    (check,) = confident(base, base, 0.02, provenance=provenance).checks
    assert check.status is Status.FAIL
    assert "different dataset versions" in check.message
    (check,) = confident(base, base, 0.02, provenance=provenance, if_missing=IfMissing.SKIP).checks
    assert check.status is Status.SKIP


def test_evals_that_share_no_image_say_so():
    cand = images(50, 8, 2, 1, seed=1, prefix="a")
    base = images(50, 8, 2, 1, seed=1, prefix="b")
    (check,) = confident(cand, base, 0.02, if_missing=IfMissing.WARN).checks
    assert check.status is Status.WARN
    assert "share no image" in check.message


def test_images_of_only_one_eval_are_left_out_and_counted():
    base = images(200, 8, 2, 1, seed=1)
    cand = base[:150] + images(10, 8, 2, 1, seed=2, prefix="new")
    (check,) = confident(cand, base, 0.5).checks
    assert check.interval is not None
    assert check.interval.images == 150
    assert "60 images of only one eval left out" in check.message


def test_confidence_on_a_segmentation_eval_is_a_config_error():
    doc = {"taskType": "semantic-segmentation", "splits": {"test": {"precision": 0.6}}}
    results = parse_map_results(doc, "s")
    rule = Rule("precision", (T(K.MAX_DROP, 0.02),), confidence=0.9, if_missing=IfMissing.WARN)
    ev = EvalInput(spec=EvalSpec("s"), results=results)
    with pytest.raises(ConfigError, match="confidence applies to detection-like evals"):
        evaluate(GateConfig(version=1, rules=(rule,)), [ev])


# --------------------------------------------------------------------------- panels that agree


def recall_drop(cand: Panels, base: Panels, **kw: Any) -> Any:
    rule = Rule("recall", (T(K.MAX_DROP, 0.02),), confidence=0.95, **kw)
    return run([rule], cand, base_panels=base)


def test_per_image_counts_that_contradict_the_confusion_matrix_are_malformed_whatever_if_missing_says():  # noqa: E501
    # The case: the candidate's matrix says recall fell from 0.90 to 0.50, its per-image
    # counts (the baseline's, unchanged) say nothing moved. The value comes from the one, the
    # verdict from the other: they cannot both describe the candidate.
    listed = [ImageCounts(f"img{k}", 9, 1, 1) for k in range(100)]  # tp 900, fp 100, fn 100
    base = counted(listed, "base")
    matrix_says = matrix([[500, 0, 500], [0, 0, 0], [100, 0, 0]])  # recall 0.5
    found = SplitImages("cand", "test", tuple(listed), total=100, confidence=0.2)
    cand = Panels(confusion={"test": matrix_says}, images={"test": found})
    for if_missing in IfMissing:
        (check,) = recall_drop(cand, base, if_missing=if_missing).checks
        assert check.status is Status.ERROR
        assert check.interval is None
        assert check.message == (
            "malformed paired per-image counts: image-predictions and the confusion matrix of "
            "eval cand (split test) disagree: summed over the 100 images vs in the matrix, "
            "true positives 900 vs 500 (off by 400), false negatives 100 vs 500 (off by 400); "
            "they must describe the same evaluation"
        )


def test_a_baseline_whose_panels_contradict_each_other_is_malformed_too():
    listed = [ImageCounts(f"img{k}", 9, 1, 1) for k in range(100)]
    found = SplitImages("base", "test", tuple(listed), total=100, confidence=0.2)
    base = Panels(
        confusion={"test": matrix([[900, 0, 100], [0, 0, 0], [99, 0, 0]])}, images={"test": found}
    )
    (check,) = recall_drop(counted(listed), base, if_missing=IfMissing.SKIP).checks
    assert check.status is Status.ERROR
    assert "of eval base (split test) disagree" in check.message
    assert "false positives 100 vs 99 (off by 1)" in check.message


def test_per_image_counts_at_another_confidence_than_the_matrix_are_malformed():
    listed = [ImageCounts(f"img{k}", 9, 1, 1) for k in range(100)]
    agreeing = counted(listed)
    at_half = SplitImages("cand", "test", tuple(listed), total=100, confidence=0.5)
    cand = Panels(confusion=agreeing.confusion, images={"test": at_half})
    (check,) = recall_drop(cand, counted(listed, "base"), if_missing=IfMissing.WARN).checks
    assert check.status is Status.ERROR
    assert (
        "image-predictions of eval cand (split test) are at confidenceThreshold 0.5 but its "
        "confusion matrix at 0.2" in check.message
    )


def test_per_image_counts_that_fall_short_of_their_total_are_malformed():
    listed = [ImageCounts(f"img{k}", 9, 1, 1) for k in range(100)]
    agreeing = counted(listed)
    short = SplitImages("cand", "test", tuple(listed), total=120, confidence=0.2)
    cand = Panels(confusion=agreeing.confusion, images={"test": short})
    (check,) = recall_drop(cand, counted(listed, "base"), if_missing=IfMissing.SKIP).checks
    assert check.status is Status.ERROR
    assert "list 100 images but say totalImages 120" in check.message


def test_panels_that_agree_are_judged_by_their_interval():
    listed = [ImageCounts(f"img{k}", 9, 1, 1) for k in range(100)]
    (check,) = recall_drop(counted(listed), counted(listed, "base")).checks
    assert check.status is Status.PASS
    assert check.interval is not None


def test_the_delta_of_a_check_judged_by_an_interval_is_the_judged_difference():
    # 60 images of only one eval: the matrices' values (every image) differ from the paired
    # ones the interval judges; the Δ a reader sees next to the interval is the judged one.
    base = images(200, 8, 2, 1, seed=1)
    cand = base[:150] + images(10, 2, 8, 1, seed=2, prefix="new")
    (check,) = confident(cand, base, 0.5).checks
    assert check.interval is not None
    assert check.actual is not None and check.baseline is not None
    assert abs((check.actual - check.baseline) - check.interval.point) > 0.01
    assert check.delta == check.interval.point


# --------------------------------------------------------------------------- undefined metrics


def test_a_metric_undefined_on_every_paired_image_is_malformed_whatever_if_missing_says():
    # The candidate predicts nothing on the 100 images it shares with the baseline (its few
    # predictions are on images the baseline lacks), so its precision on the paired images,
    # the one the interval judges, is undefined: bad data, not a skip that would excuse it.
    base = [ImageCounts(f"img{k}", 8, 2, 1) for k in range(100)]
    cand = [ImageCounts(f"img{k}", 0, 0, 9) for k in range(100)]
    cand += [ImageCounts("new0", 5, 1, 0)]
    for if_missing in IfMissing:
        (check,) = confident(cand, base, 0.02, if_missing=if_missing).checks
        assert check.status is Status.ERROR, if_missing
        assert check.message == (
            "malformed paired per-image counts: precision is undefined for the candidate on "
            "the 100 paired images: it made no predictions there"
        )


def test_no_paired_image_stays_missing_and_follows_if_missing():
    cand = images(50, 8, 2, 1, seed=1, prefix="a")
    base = images(50, 8, 2, 1, seed=1, prefix="b")
    (check,) = confident(cand, base, 0.02, if_missing=IfMissing.SKIP).checks
    assert check.status is Status.SKIP
    assert "share no image" in check.message
