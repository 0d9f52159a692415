"""Proof that the paired bootstrap's intervals are honest.

Many test sets are simulated from a generative model whose true difference in micro
precision, recall and F1 is known exactly; the 95% intervals must cover it in 95% +- 3% of
the sets. The simulation is seeded, so the test cannot flake: it fails only when the method
changes. That it can fail is shown by a wrong method (an unpaired bootstrap, which ignores
that both systems score the same images) missing the band on the same sets.

The generative model: each image is easy, medium or hard (probabilities PI); it has
Poisson(MU) ground-truth objects; each object is found by a system when one shared uniform
draw is below the system's recall for that difficulty (so the systems miss the same hard
objects, as real detectors do); false positives are a shared Poisson(SHARED_FP) plus each
system's own Poisson(OWN_FP). The micro metric of an infinite test set is the ratio of the
expected counts, e.g. recall = E[tp] / (E[tp] + E[fn]); the true difference is that of the
two systems.
"""

from __future__ import annotations

import numpy as np
import pytest

from gate.core.bootstrap import METRICS, Judgement, Pairing, judge, pair_images, paired_bootstrap
from gate.core.panels import ImageCounts

PI = np.array([0.5, 0.3, 0.2])  # easy, medium, hard
MU = np.array([2.0, 4.0, 8.0])  # mean ground-truth objects per image
RECALL = {"candidate": np.array([0.85, 0.70, 0.45]), "baseline": np.array([0.88, 0.75, 0.55])}
SHARED_FP = np.array([0.3, 0.8, 1.5])
OWN_FP = {"candidate": np.array([0.3, 0.5, 0.9]), "baseline": np.array([0.2, 0.4, 0.6])}

SETS = 400  # simulated test sets
IMAGES = 200  # images in each
RESAMPLES = 1_000
CONFIDENCE = 0.95
BAND = 0.03


def ratio(metric: str, tp: float, fp: float, fn: float) -> float:
    if metric == "precision":
        return tp / (tp + fp)
    if metric == "recall":
        return tp / (tp + fn)
    return 2 * tp / (2 * tp + fp + fn)


def expected_counts(system: str) -> tuple[float, float, float]:
    """E[tp], E[fp], E[fn] of one image under the generative model."""
    tp = float(PI @ (MU * RECALL[system]))
    fp = float(PI @ (SHARED_FP + OWN_FP[system]))
    fn = float(PI @ (MU * (1 - RECALL[system])))
    return tp, fp, fn


def true_difference(metric: str) -> float:
    return ratio(metric, *expected_counts("candidate")) - ratio(
        metric, *expected_counts("baseline")
    )


def simulate(rng: np.random.Generator, images: int) -> Pairing:
    difficulty = rng.choice(3, size=images, p=PI)
    objects = rng.poisson(MU[difficulty])
    owner = np.repeat(np.arange(images), objects)  # the image of each object
    draw = rng.random(owner.size)
    shared_fp = rng.poisson(SHARED_FP[difficulty])
    systems = []
    for system in ("candidate", "baseline"):
        found = draw < RECALL[system][difficulty[owner]]
        tp = np.bincount(owner, weights=found, minlength=images).astype(np.int64)
        fp = shared_fp + rng.poisson(OWN_FP[system][difficulty])
        systems.append(
            [
                ImageCounts(f"{k:05d}", int(tp[k]), int(fp[k]), int(objects[k] - tp[k]))
                for k in range(images)
            ]
        )
    return pair_images(*systems)


def unpaired_interval(pairing: Pairing, metric: str, seed: int) -> tuple[float, float]:
    """The wrong method: each system's images resampled on their own draws."""
    rng = np.random.default_rng(seed)
    differences = np.zeros(RESAMPLES)
    for sign, images in ((1, pairing.candidate), (-1, pairing.baseline)):
        counts = np.array([(i.tp, i.fp, i.fn) for i in images], dtype=np.int64)
        drawn = counts[rng.integers(0, len(images), size=(RESAMPLES, len(images)))].sum(axis=1)
        differences += sign * ratio(metric, drawn[:, 0], drawn[:, 1], drawn[:, 2])
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return float(low), float(high)


def test_the_true_differences_are_drops_of_a_few_points():
    differences = {metric: true_difference(metric) for metric in METRICS}
    assert differences == pytest.approx(
        {"precision": -0.0477, "recall": -0.0658, "f1": -0.0572}, abs=1e-4
    )


@pytest.mark.slow
def test_95_percent_intervals_cover_the_true_difference_95_percent_of_the_time():
    rng = np.random.default_rng(20_261_129)
    covered = dict.fromkeys(METRICS, 0)
    covered_80 = 0
    unpaired_covered = 0
    for index in range(SETS):
        pairing = simulate(rng, IMAGES)
        for metric in METRICS:
            truth = true_difference(metric)
            found = paired_bootstrap(pairing, metric, CONFIDENCE, resamples=RESAMPLES, seed=index)
            covered[metric] += found.low <= truth <= found.high
        recall_80 = paired_bootstrap(pairing, "recall", 0.8, resamples=RESAMPLES, seed=index)
        covered_80 += recall_80.low <= true_difference("recall") <= recall_80.high
        low, high = unpaired_interval(pairing, "recall", seed=index)
        unpaired_covered += low <= true_difference("recall") <= high
    rates = {metric: hits / SETS for metric, hits in covered.items()}
    for metric, rate in rates.items():
        assert abs(rate - CONFIDENCE) <= BAND, f"{metric}: {rate:.3f} of {SETS} sets ({rates})"
    # the same at another level: the 80% intervals cover 80% of the time
    assert abs(covered_80 / SETS - 0.8) <= 0.05, covered_80 / SETS
    # the test can fail: ignoring the pairing makes the intervals far too wide here (the
    # systems miss the same hard images), so they cover nearly always, outside the band
    assert unpaired_covered / SETS > CONFIDENCE + BAND, unpaired_covered / SETS


def replicated(copies: int) -> Pairing:
    """Ten images of five objects each, `copies` times: the baseline finds 4 of 5 objects in
    every image (recall 0.80); the candidate 38 of the 50 (0.76), unevenly."""
    candidate_tp = [4, 4, 3, 4, 5, 3, 4, 4, 3, 4]
    candidate, baseline = [], []
    for copy in range(copies):
        for k, tp in enumerate(candidate_tp):
            image_id = f"{copy:04d}-{k}"
            candidate.append(ImageCounts(image_id, tp, 0, 5 - tp))
            baseline.append(ImageCounts(image_id, 4, 0, 1))
    return pair_images(candidate, baseline)


def test_twice_the_allowed_drop_fails_on_a_large_test_set_and_is_inconclusive_on_a_tiny_one():
    allowed_drop = 0.02
    tiny = paired_bootstrap(replicated(1), "recall", CONFIDENCE)  # 10 images
    large = paired_bootstrap(replicated(500), "recall", CONFIDENCE)  # 5,000 images
    # the same point drop, twice the allowed one: a plain max_drop rule fails both
    assert tiny.point == pytest.approx(-2 * allowed_drop)
    assert large.point == pytest.approx(tiny.point)
    assert judge(large, allowed_drop) is Judgement.FAIL
    assert large.high < -allowed_drop
    # ten images cannot resolve 0.02: the interval reaches back inside (and past zero)
    assert judge(tiny, allowed_drop) is Judgement.INCONCLUSIVE
    assert tiny.low < -2 * allowed_drop < -allowed_drop < 0 < tiny.high
