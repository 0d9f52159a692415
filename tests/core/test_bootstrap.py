"""The paired bootstrap: pairing, the interval's arithmetic and bounds, and judging it."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.core import bootstrap
from gate.core.bootstrap import (
    MAX_IMAGES,
    MAX_RESAMPLES,
    MIN_RESAMPLES,
    CannotBootstrap,
    Interval,
    Judgement,
    NoPairedImages,
    Pairing,
    UndefinedMetric,
    judge,
    metric_value,
    pair_images,
    paired_bootstrap,
)
from gate.core.panels import ImageCounts
from tests.paths import REPO


def img(image_id: str, tp: int, fp: int, fn: int) -> ImageCounts:
    return ImageCounts(image_id, tp, fp, fn)


def noisy(count: int, seed: int, prefix: str = "img") -> list[ImageCounts]:
    rng = random.Random(seed)
    return [
        img(f"{prefix}{k:05d}", rng.randint(0, 6), rng.randint(0, 3), rng.randint(0, 3))
        for k in range(count)
    ]


def interval(point: float, low: float, high: float) -> Interval:
    return Interval("recall", 0.95, point, low, high, resamples=1_000, images=100)


# --------------------------------------------------------------------------- pairing


def test_images_are_paired_by_id_in_sorted_order_whatever_the_input_order():
    candidate = [img("c", 1, 0, 0), img("a", 2, 0, 0), img("only-cand", 9, 9, 9)]
    baseline = [img("a", 3, 0, 0), img("b", 5, 0, 0), img("c", 4, 0, 0)]
    pairing = pair_images(candidate, baseline)
    assert [i.image_id for i in pairing.candidate] == ["a", "c"]
    assert [i.image_id for i in pairing.baseline] == ["a", "c"]
    assert [i.tp for i in pairing.candidate] == [2, 1]
    assert [i.tp for i in pairing.baseline] == [3, 4]
    assert (pairing.only_candidate, pairing.only_baseline, pairing.images) == (1, 1, 2)
    assert pair_images(list(reversed(candidate)), baseline[::-1]) == pairing


def test_evals_that_share_no_image_pair_nothing_and_the_bootstrap_says_why():
    pairing = pair_images([img("a", 1, 0, 0)], [img("b", 1, 0, 0)])
    assert (pairing.images, pairing.only_candidate, pairing.only_baseline) == (0, 1, 1)
    with pytest.raises(NoPairedImages, match="share no test images"):
        paired_bootstrap(pairing, "recall", 0.95)


@pytest.mark.parametrize("which", ["candidate", "baseline"])
def test_an_image_listed_twice_cannot_be_paired(which):
    twice = [img("a", 1, 0, 0), img("a", 2, 0, 0)]
    once = [img("a", 1, 0, 0)]
    args = (twice, once) if which == "candidate" else (once, twice)
    with pytest.raises(CannotBootstrap, match=f"the {which} eval lists image 'a' twice"):
        pair_images(*args)


def test_more_images_than_the_bound_are_refused_before_pairing():
    many = [img(str(k), 1, 0, 0) for k in range(MAX_IMAGES + 1)]
    with pytest.raises(CannotBootstrap, match=r"100,001 images; .* at most 100,000"):
        pair_images(many, [])
    assert pair_images(many[:MAX_IMAGES], []).only_candidate == MAX_IMAGES


def test_a_pairing_built_by_hand_is_checked():
    a, b = img("a", 1, 0, 0), img("b", 1, 0, 0)
    with pytest.raises(CannotBootstrap, match="out of order"):
        paired_bootstrap(Pairing((a, b), (b, a), 0, 0), "recall", 0.95)
    with pytest.raises(CannotBootstrap, match="2 candidate images but 1 baseline"):
        paired_bootstrap(Pairing((a, b), (a,), 0, 0), "recall", 0.95)
    too_many = tuple(img(str(k), 1, 0, 0) for k in range(MAX_IMAGES + 1))
    with pytest.raises(CannotBootstrap, match="100,001 paired images"):
        paired_bootstrap(Pairing(too_many, too_many, 0, 0), "recall", 0.95)


# --------------------------------------------------------------------------- the interval


def test_the_point_estimate_is_the_micro_difference_on_the_paired_images():
    # candidate totals: tp 7, fp 3, fn 3; baseline totals: tp 8, fp 1, fn 2
    pairing = pair_images(
        [img("a", 4, 1, 1), img("b", 3, 2, 2), img("x", 100, 0, 0)],
        [img("a", 5, 0, 1), img("b", 3, 1, 1)],
    )
    expected = {
        "precision": 7 / 10 - 8 / 9,
        "recall": 7 / 10 - 8 / 10,
        "f1": 14 / 20 - 16 / 19,
    }
    for metric, difference in expected.items():
        found = paired_bootstrap(pairing, metric, 0.9, resamples=500)
        assert found.point == difference
        assert found.point == metric_value(metric, pairing.candidate) - metric_value(
            metric, pairing.baseline
        )
        assert (found.metric, found.confidence, found.resamples, found.images) == (
            metric,
            0.9,
            500,
            2,
        )


def test_micro_f1_is_the_harmonic_mean_of_micro_precision_and_recall():
    images = noisy(50, seed=3)
    p = metric_value("precision", images)
    r = metric_value("recall", images)
    assert p is not None and r is not None
    assert metric_value("f1", images) == pytest.approx(2 * p * r / (p + r), abs=1e-15)


def test_the_same_seed_gives_the_same_interval_and_another_seed_another():
    pairing = pair_images(noisy(300, seed=1), noisy(300, seed=2))
    first = paired_bootstrap(pairing, "f1", 0.95)
    assert paired_bootstrap(pairing, "f1", 0.95) == first
    other = paired_bootstrap(pairing, "f1", 0.95, seed=bootstrap.SEED + 1)
    assert other.point == first.point
    assert (other.low, other.high) != (first.low, first.high)


def test_the_chunk_size_never_changes_the_interval(monkeypatch):
    pairing = pair_images(noisy(700, seed=5), noisy(700, seed=6))
    expected = paired_bootstrap(pairing, "precision", 0.95, resamples=2_000)
    for chunk in (1, 4_096, 1 << 24):
        monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", chunk)
        assert paired_bootstrap(pairing, "precision", 0.95, resamples=2_000) == expected


def test_packed_and_unpacked_sums_give_the_same_interval(monkeypatch):
    pairing = pair_images(noisy(600, seed=15), noisy(600, seed=16))
    for metric in bootstrap.METRICS:
        packed = paired_bootstrap(pairing, metric, 0.9, resamples=1_000)
        monkeypatch.setattr(bootstrap, "_PACK_LIMIT", 0)  # every sum travels on its own
        assert paired_bootstrap(pairing, metric, 0.9, resamples=1_000) == packed
        monkeypatch.undo()


def test_sums_just_too_large_to_pack_are_still_exact():
    # 3 images x 2**30 objects: sums reach 3 * 2**30 > 2**31, so nothing is packed
    big = 2**30
    candidate = [img("a", big, 0, 0), img("b", 0, 0, big), img("c", big, 0, 0)]
    baseline = [img("a", big, 0, 0), img("b", big, 0, 0), img("c", big, 0, 0)]
    found = paired_bootstrap(pair_images(candidate, baseline), "recall", 0.95)
    assert found.point == pytest.approx(2 / 3 - 1)
    # every resample's recall is a ratio of whole images: 0, 1/3, 1/2, 2/3 or 1 of them
    assert found.low == pytest.approx(-1.0)
    assert found.high == 0.0


def test_identical_systems_give_a_zero_difference_and_a_zero_width_interval():
    images = noisy(200, seed=7)
    pairing = pair_images(images, images)
    for metric in bootstrap.METRICS:
        found = paired_bootstrap(pairing, metric, 0.99)
        assert (found.point, found.low, found.high, found.undefined) == (0.0, 0.0, 0.0, 0)


def test_a_difference_the_same_on_every_image_has_no_spread():
    # every image alike: every resample has the same totals, so the interval is the point
    pairing = pair_images(
        [img(str(k), 3, 1, 1) for k in range(40)], [img(str(k), 4, 1, 0) for k in range(40)]
    )
    found = paired_bootstrap(pairing, "recall", 0.95)
    assert found.point == pytest.approx(3 / 4 - 1)
    assert found.low == pytest.approx(found.point) and found.high == pytest.approx(found.point)


def test_a_higher_confidence_gives_a_wider_interval():
    pairing = pair_images(noisy(400, seed=8), noisy(400, seed=9))
    narrow = paired_bootstrap(pairing, "recall", 0.8)
    wide = paired_bootstrap(pairing, "recall", 0.99)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_pairing_narrows_the_interval_when_the_systems_agree_on_hard_images():
    # both systems miss the same hard images: resampling moves both recalls together. Pair
    # each candidate image with another image's baseline counts instead (same totals, so the
    # same point) and the interval is several times wider.
    rng = random.Random(11)
    candidate, baseline = [], []
    for k in range(500):
        objects = rng.randint(1, 10)
        hit = rng.randint(0, objects)  # the image's difficulty, shared by both systems
        extra = 1 if rng.random() < 0.2 and hit < objects else 0
        candidate.append(img(f"{k:03d}", hit, 0, objects - hit))
        baseline.append(img(f"{k:03d}", hit + extra, 0, objects - hit - extra))
    paired = paired_bootstrap(pair_images(candidate, baseline), "recall", 0.95)
    order = list(range(500))
    rng.shuffle(order)
    mispaired = [img(f"{k:03d}", b.tp, b.fp, b.fn) for k, b in zip(order, baseline, strict=True)]
    broken = paired_bootstrap(pair_images(candidate, mispaired), "recall", 0.95)
    assert broken.point == pytest.approx(paired.point)
    assert paired.point < 0
    assert paired.high - paired.low < (broken.high - broken.low) / 3


def test_memory_stays_bounded_for_the_benchmark_size():
    pairing = pair_images(noisy(5_000, seed=12), noisy(5_000, seed=13))
    tracemalloc.start()
    try:
        paired_bootstrap(pairing, "f1", 0.95, resamples=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # all 10,000 x 5,000 indices at once would be 400 MB; numpy reports its buffers here
    assert peak < 24 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# --------------------------------------------------------------------------- undefined metrics


@pytest.mark.parametrize(
    ("metric", "candidate", "why"),
    [
        ("precision", img("a", 0, 0, 3), "candidate on the 1 paired images: it made no pred"),
        ("recall", img("a", 0, 2, 0), "candidate on the 1 paired images: it has no ground-truth"),
        ("f1", img("a", 0, 0, 0), "candidate on the 1 paired images: it has neither"),
    ],
)
def test_a_metric_undefined_on_the_whole_test_set_is_refused(metric, candidate, why):
    pairing = pair_images([candidate], [img("a", 1, 1, 1)])
    with pytest.raises(UndefinedMetric, match=f"{metric} is undefined for the {why}"):
        paired_bootstrap(pairing, metric, 0.95)
    assert metric_value(metric, [candidate]) is None


def test_resamples_without_predictions_count_against_the_candidate():
    # identical systems with one predicting image out of three: a resample that misses it has
    # no predictions for either system, and counts as a drop of 1 (never as a gain)
    images = [img("a", 1, 0, 0), img("b", 0, 0, 1), img("c", 0, 0, 1)]
    found = paired_bootstrap(pair_images(images, images), "precision", 0.95, resamples=4_000)
    assert found.point == 0.0
    assert (found.low, found.high) == (-1.0, 0.0)
    # P(no draw of "a" in 3) = (2/3)**3 = 0.296
    assert 0.26 < found.undefined / found.resamples < 0.33


def test_a_baseline_without_predictions_in_a_resample_is_not_a_gain_for_the_candidate():
    # the candidate's precision is 1 everywhere; the baseline's is 0.5 where defined.
    # A resample without the baseline's only predicting image scores the baseline as 1
    # (difference 0), not 0 (which would be a difference of +1 and widen the interval up).
    candidate = [img("a", 1, 0, 0), img("b", 1, 0, 0), img("c", 1, 0, 0)]
    baseline = [img("a", 1, 1, 0), img("b", 0, 0, 1), img("c", 0, 0, 1)]
    found = paired_bootstrap(pair_images(candidate, baseline), "precision", 0.99)
    assert found.point == 0.5
    assert found.undefined > 0
    assert (found.low, found.high) == (0.0, 0.5)


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize("confidence", [0.5, 1.0, 0.3, 1.5, math.nan, math.inf, True])
def test_a_confidence_outside_the_open_interval_is_refused(confidence):
    pairing = pair_images(noisy(5, seed=1), noisy(5, seed=1))
    with pytest.raises(ValueError, match=r"confidence must be in \(0.5, 1\)"):
        paired_bootstrap(pairing, "recall", confidence)


@pytest.mark.parametrize(
    "resamples", [MIN_RESAMPLES - 1, MAX_RESAMPLES + 1, 0, -5, True, 1_000.0, "1000"]
)
def test_a_resample_count_outside_the_bounds_is_refused(resamples):
    pairing = pair_images(noisy(5, seed=1), noisy(5, seed=1))
    with pytest.raises(ValueError, match="resamples must be an integer in"):
        paired_bootstrap(pairing, "recall", 0.95, resamples=resamples)


def test_an_unknown_metric_is_refused():
    pairing = pair_images(noisy(5, seed=1), noisy(5, seed=1))
    with pytest.raises(ValueError, match="no bootstrap for metric 'map50'"):
        paired_bootstrap(pairing, "map50", 0.95)
    with pytest.raises(ValueError, match="no bootstrap for metric 'map50'"):
        metric_value("map50", [])


@pytest.mark.parametrize("count", [-1, 1.5, True, None])
def test_a_count_that_is_not_a_non_negative_integer_is_refused(count):
    bad = ImageCounts("a", 1, count, 0)  # type: ignore[arg-type]
    with pytest.raises(CannotBootstrap, match=f"image 'a' has a count of {count!r}"):
        paired_bootstrap(pair_images([bad], [img("a", 1, 0, 0)]), "precision", 0.95)


def test_counts_too_large_to_sum_exactly_are_refused():
    huge = [img(str(k), 2**50, 0, 0) for k in range(8)]
    with pytest.raises(CannotBootstrap, match="too large to resample exactly"):
        paired_bootstrap(pair_images(huge, huge), "recall", 0.95)
    fine = huge[:7]
    assert paired_bootstrap(pair_images(fine, fine), "recall", 0.95).point == 0.0


# --------------------------------------------------------------------------- judging


def test_the_whole_interval_beyond_the_allowed_drop_fails():
    assert judge(interval(-0.05, -0.07, -0.03), allowed_drop=0.02) is Judgement.FAIL


def test_a_point_beyond_with_an_interval_reaching_back_inside_is_inconclusive():
    assert judge(interval(-0.05, -0.09, -0.01), allowed_drop=0.02) is Judgement.INCONCLUSIVE


def test_a_point_within_the_allowed_drop_passes_however_wide_the_interval():
    assert judge(interval(-0.01, -0.30, 0.20), allowed_drop=0.02) is Judgement.PASS
    assert judge(interval(0.03, 0.01, 0.05), allowed_drop=0.0) is Judgement.PASS


def test_an_interval_wholly_beyond_a_point_within_is_inconclusive_never_a_failure():
    assert judge(interval(-0.01, -0.06, -0.04), allowed_drop=0.02) is Judgement.INCONCLUSIVE


def test_judging_at_the_boundaries_uses_the_rule_tolerance():
    allowed = 0.02
    exactly = -allowed
    just_beyond = -allowed - 3 * bootstrap.TOLERANCE
    within_tolerance = -allowed - bootstrap.TOLERANCE / 2
    # the point exactly at the allowed drop (or within the tolerance of it) passes
    assert judge(interval(exactly, -0.1, exactly), allowed) is Judgement.PASS
    assert judge(interval(within_tolerance, -0.1, within_tolerance), allowed) is Judgement.PASS
    # the interval's top exactly at the allowed drop still reaches inside
    assert judge(interval(just_beyond, -0.1, exactly), allowed) is Judgement.INCONCLUSIVE
    assert judge(interval(just_beyond, -0.1, within_tolerance), allowed) is Judgement.INCONCLUSIVE
    assert judge(interval(just_beyond, -0.1, just_beyond), allowed) is Judgement.FAIL
    # a zero allowed drop: any drop beyond the tolerance counts
    assert judge(interval(-3e-9, -0.1, -3e-9), 0.0) is Judgement.FAIL
    assert judge(interval(0.0, -0.1, 0.0), 0.0) is Judgement.PASS


def test_the_tolerance_is_rule_evaluations_one_constant_not_a_copy():
    from gate.core import evaluate, model  # noqa: PLC0415
    from gate.report import rules  # noqa: PLC0415 - the report's counts of a rule's misses

    assert bootstrap.TOLERANCE == evaluate.TOLERANCE
    # The same object: a copy defined again (an equal float literal) would be another one.
    assert bootstrap.TOLERANCE is evaluate.TOLERANCE is model.TOLERANCE is rules.TOLERANCE


@pytest.mark.parametrize("allowed", [-0.01, math.nan, math.inf, "0.1"])
def test_a_bad_allowed_drop_is_refused(allowed):
    with pytest.raises(ValueError, match="allowed_drop must be"):
        judge(interval(-0.05, -0.07, -0.03), allowed)


@pytest.mark.parametrize("bad", [(math.nan, -1, 1), (0, -math.inf, 0), (0, 0, math.nan)])
def test_a_non_finite_interval_is_refused(bad):
    with pytest.raises(ValueError, match="the interval is not finite"):
        judge(interval(*bad), 0.02)


def test_the_judgements_read_as_their_names():
    assert [str(j) for j in Judgement] == ["fail", "inconclusive", "pass"]


# --------------------------------------------------------------------------- properties

counts = st.tuples(
    st.integers(min_value=1, max_value=20),  # tp >= 1: every metric defined in every resample
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=20),
)
systems = st.lists(st.tuples(counts, counts), min_size=1, max_size=60)


def split(rows: list[tuple[tuple[int, int, int], tuple[int, int, int]]]) -> Pairing:
    candidate = [img(f"i{k}", *c) for k, (c, _) in enumerate(rows)]
    baseline = [img(f"i{k}", *b) for k, (_, b) in enumerate(rows)]
    return pair_images(candidate, baseline)


@settings(max_examples=40, deadline=None)
@given(rows=systems, metric=st.sampled_from(bootstrap.METRICS), shuffle=st.randoms())
def test_intervals_are_ordered_within_range_mirrored_on_swap_and_order_free(rows, metric, shuffle):
    pairing = split(rows)
    found = paired_bootstrap(pairing, metric, 0.9, resamples=200)
    assert -1.0 <= found.low <= found.high <= 1.0
    assert found.undefined == 0
    # the same draws with the systems swapped negate every difference
    swapped = paired_bootstrap(
        Pairing(pairing.baseline, pairing.candidate, 0, 0), metric, 0.9, resamples=200
    )
    assert swapped.point == pytest.approx(-found.point, abs=1e-12)
    assert swapped.low == pytest.approx(-found.high, abs=1e-12)
    assert swapped.high == pytest.approx(-found.low, abs=1e-12)
    shuffled = list(zip(pairing.candidate, pairing.baseline, strict=True))
    shuffle.shuffle(shuffled)
    again = pair_images([c for c, _ in shuffled], [b for _, b in shuffled])
    assert paired_bootstrap(again, metric, 0.9, resamples=200) == found


# --------------------------------------------------------------------------- numpy stays lazy


def test_importing_the_module_does_not_import_numpy():
    code = (
        "import sys, gate.core.bootstrap as b; "
        "assert b.paired_bootstrap and 'numpy' not in sys.modules, 'numpy imported'; "
        "print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr
