"""Paired bootstrap confidence intervals for a change in micro precision, recall or F1.

Pure: per-image counts in, an interval and a judgement out. numpy is imported inside the
functions that resample (never when this module is imported), so a gate whose rules ask for
no interval never loads it.

The method is the paired bootstrap used to compare two systems on one test set (Efron &
Tibshirani 1993; Koehn 2004; Berg-Kirkpatrick, Burkett & Klein 2012): the test set's images
are drawn with replacement, the same draw for the candidate and the baseline, each
resample's metric is recomputed from the summed counts of the drawn images (micro average),
and the interval is the percentile interval of the resampled differences.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.core.metrics import COUNT_METRICS, count_ratio
from gate.core.model import TOLERANCE
from gate.core.panels import ImageCounts

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_RESAMPLES",
    "MAX_IMAGES",
    "MAX_RESAMPLES",
    "METRICS",
    "MIN_RESAMPLES",
    "SEED",
    "TOLERANCE",
    "CannotBootstrap",
    "Interval",
    "Judgement",
    "NoPairedImages",
    "Pairing",
    "UndefinedMetric",
    "judge",
    "metric_value",
    "pair_images",
    "paired_bootstrap",
]

DEFAULT_RESAMPLES = 10_000
MIN_RESAMPLES = 100  # fewer cannot place a 2.5% tail
MAX_RESAMPLES = 100_000
SEED = 20_261_129  # fixed: the same counts give the same interval on every run
MAX_IMAGES = 100_000  # paired images (and images per eval) we resample at most
METRICS = COUNT_METRICS  # the metrics per-image counts rebuild
# Indices drawn at once: 2**18 int64 indices are 2 MiB, so 10,000 resamples of 5,000 images
# are drawn in ~190 chunks instead of one 400 MB array. Changing it changes no interval (the
# generator's stream is consumed in the same order) but keep it fixed all the same.
_CHUNK_ELEMENTS = 1 << 18
# Sums of resampled counts must stay exact in a float64 (and an int64) to divide them.
_EXACT = 2**53
# Below this, a resample's sums fit in 31 bits and two of them are packed in one int64.
_PACK_LIMIT = 2**31


class CannotBootstrap(ValueError):
    """The counts cannot give an interval: no paired images, too many, a metric undefined on
    the whole test set, or counts too large. `str()` is one line saying which."""


class NoPairedImages(CannotBootstrap):
    """The two evals share no test image (different dataset versions?)."""


class UndefinedMetric(CannotBootstrap):
    """The metric is undefined for a system on the paired images (a zero denominator: no
    predictions for precision, no ground truth for recall, neither for F1)."""


@dataclass(frozen=True, slots=True)
class Pairing:
    """The images both evals scored, paired by id (sorted), and how many only one scored."""

    candidate: tuple[ImageCounts, ...]  # paired, same order as baseline
    baseline: tuple[ImageCounts, ...]
    only_candidate: int  # images in one eval only
    only_baseline: int

    @property
    def images(self) -> int:
        """How many images are paired."""
        return len(self.candidate)


def pair_images(candidate: Sequence[ImageCounts], baseline: Sequence[ImageCounts]) -> Pairing:
    """Pair the two evals' images by `image_id`, in sorted id order (so the input order never
    matters). Raises CannotBootstrap when either eval has more than MAX_IMAGES images or names
    an image twice (the pairing would be ambiguous)."""
    by_candidate = _by_id(candidate, "candidate")
    by_baseline = _by_id(baseline, "baseline")
    shared = sorted(by_candidate.keys() & by_baseline.keys())
    return Pairing(
        candidate=tuple(by_candidate[image_id] for image_id in shared),
        baseline=tuple(by_baseline[image_id] for image_id in shared),
        only_candidate=len(by_candidate) - len(shared),
        only_baseline=len(by_baseline) - len(shared),
    )


def _by_id(images: Sequence[ImageCounts], which: str) -> dict[str, ImageCounts]:
    if len(images) > MAX_IMAGES:
        raise CannotBootstrap(
            f"the {which} eval has {len(images):,} images; confidence intervals resample at "
            f"most {MAX_IMAGES:,}"
        )
    found: dict[str, ImageCounts] = {}
    for image in images:
        if image.image_id in found:
            raise CannotBootstrap(
                f"the {which} eval lists image {image.image_id!r} twice, so its images "
                "cannot be paired"
            )
        found[image.image_id] = image
    return found


@dataclass(frozen=True, slots=True)
class Interval:
    """A paired bootstrap interval of `metric`(candidate) - `metric`(baseline)."""

    metric: str
    confidence: float
    point: float  # metric(candidate totals) - metric(baseline totals), micro over the paired images
    low: float
    high: float
    resamples: int
    images: int
    undefined: int = 0  # resamples where either system's metric had a zero denominator


def metric_value(metric: str, images: Sequence[ImageCounts]) -> float | None:
    """The micro `metric` of `images` (their tp, fp and fn summed), or None when its
    denominator is zero (no predictions for precision, no objects for recall, neither for
    F1)."""
    _check_metric(metric)
    numerator, denominator = count_ratio(
        metric,
        sum(image.tp for image in images),
        sum(image.fp for image in images),
        sum(image.fn for image in images),
    )
    return numerator / denominator if denominator else None


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"no bootstrap for metric {metric!r}; one of {', '.join(METRICS)}")


_UNDEFINED_WHY = {
    "precision": "made no predictions",
    "recall": "has no ground-truth objects",
    "f1": "has neither predictions nor ground-truth objects",
}


def paired_bootstrap(
    pairing: Pairing,
    metric: str,
    confidence: float,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = SEED,
    tick: Callable[[], None] | None = None,
) -> Interval:
    """The percentile interval of metric(candidate) - metric(baseline) over `resamples`
    paired bootstrap resamples of the paired images, at `confidence` (in (0.5, 1)).

    Each resample draws `images` images with replacement, the same images for both systems
    (that is what makes it paired: an image that is hard for both systems moves both
    metrics, and the difference is not blamed on it), sums each system's tp, fp and fn over
    the drawn images and computes the metric from the sums (micro average), as on the
    whole test set. `point` is the difference on the whole paired test set.

    Why the percentile interval: it is the one the paired-bootstrap literature uses for
    comparing two systems; it respects the metric's range (a difference of two values in
    [0, 1] stays in [-1, 1]; the basic interval can leave it) and needs no extra pass (BCa
    needs a jackknife and its acceleration estimate is noisy at the test-set sizes that
    matter here); and it is what tests/core/test_bootstrap_coverage.py checks: the
    intervals cover a known true difference at the nominal rate on simulated test sets.

    A resample whose metric is undefined for a system (zero denominator: e.g. no predictions
    among the drawn images, for precision) takes the value least favourable to the
    candidate: 0 for the candidate, 1 for the baseline. Such resamples can only lower the
    interval, so they can turn an inconclusive result into a failure but never excuse one;
    `undefined` counts them (it is 0 unless the test set is tiny or nearly empty).

    Deterministic: the same pairing, metric, confidence, resamples and seed give the same
    interval (numpy's PCG64 generator seeded with `seed`). Memory is bounded: the indices
    are drawn in chunks of about 2**18, never `resamples` x `images` at once; `tick` (when
    given) is called after each chunk, so a caller can stop the work by raising from it.

    Raises ValueError for an unknown metric, a confidence outside (0.5, 1) or a resample
    count outside [MIN_RESAMPLES, MAX_RESAMPLES]; CannotBootstrap (a ValueError) when there
    are no paired images (NoPairedImages), more than MAX_IMAGES, counts that are not
    non-negative integers or too large to sum exactly, or a metric undefined on the whole
    paired test set (UndefinedMetric).
    """
    _check_metric(metric)
    if not (isinstance(confidence, float | int) and 0.5 < confidence < 1):
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence!r}")
    if type(resamples) is not int or not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
        raise ValueError(
            f"resamples must be an integer in [{MIN_RESAMPLES:,}, {MAX_RESAMPLES:,}], "
            f"got {resamples!r}"
        )
    columns = _columns(pairing, metric)
    n = pairing.images
    point = _point(metric, columns)

    import numpy as np  # noqa: PLC0415 - only a rule with an interval pays for numpy

    arrays = [np.asarray(column, dtype=np.int64) for column in columns]
    sums = _resampled_sums(arrays, n, resamples, seed, tick)
    num_c, den_c, num_b, den_b = sums
    bad_c = den_c == 0
    bad_b = den_b == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        value_c = np.where(bad_c, 0.0, num_c / np.where(bad_c, 1, den_c))
        value_b = np.where(bad_b, 1.0, num_b / np.where(bad_b, 1, den_b))
    differences = value_c - value_b
    tail = (1 - confidence) / 2
    low, high = (float(q) for q in np.quantile(differences, [tail, 1 - tail]))
    return Interval(
        metric=metric,
        confidence=float(confidence),
        point=point,
        low=low,
        high=high,
        resamples=resamples,
        images=n,
        undefined=int(np.count_nonzero(bad_c | bad_b)),
    )


def _columns(pairing: Pairing, metric: str) -> tuple[list[int], list[int], list[int], list[int]]:
    """Per paired image: the candidate's numerator and denominator, then the baseline's.

    Checks the pairing (same length, same ids in the same order, at most MAX_IMAGES) and
    the counts (non-negative integers whose sums stay exact)."""
    n = len(pairing.candidate)
    if n != len(pairing.baseline):
        raise CannotBootstrap(
            f"the pairing has {n:,} candidate images but {len(pairing.baseline):,} baseline ones"
        )
    if n == 0:
        raise NoPairedImages(
            "the candidate and the baseline share no test images (different dataset "
            "versions?), so their difference has no paired interval"
        )
    if n > MAX_IMAGES:
        raise CannotBootstrap(
            f"{n:,} paired images; confidence intervals resample at most {MAX_IMAGES:,}"
        )
    columns: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])
    largest = 0
    for cand, base in zip(pairing.candidate, pairing.baseline, strict=True):
        if cand.image_id != base.image_id:
            raise CannotBootstrap(
                f"the pairing is out of order: candidate image {cand.image_id!r} is paired "
                f"with baseline image {base.image_id!r}"
            )
        for offset, image in ((0, cand), (2, base)):
            for count in (image.tp, image.fp, image.fn):
                if type(count) is not int or count < 0:
                    raise CannotBootstrap(
                        f"image {image.image_id!r} has a count of {count!r}, expected a "
                        "non-negative integer"
                    )
            numerator, denominator = count_ratio(metric, image.tp, image.fp, image.fn)
            columns[offset].append(numerator)
            columns[offset + 1].append(denominator)
            largest = max(largest, denominator)
    if largest * n >= _EXACT:
        raise CannotBootstrap(
            f"the images' counts are too large to resample exactly (up to {largest:,} "
            f"in one image, over {n:,} images)"
        )
    return columns


def _point(metric: str, columns: tuple[list[int], ...]) -> float:
    """The difference on the whole paired test set; CannotBootstrap if a side is undefined."""
    num_c, den_c, num_b, den_b = (sum(column) for column in columns)
    for system, denominator in (("candidate", den_c), ("baseline", den_b)):
        if denominator == 0:
            raise UndefinedMetric(
                f"{metric} is undefined for the {system} on the {len(columns[0]):,} paired "
                f"images: it {_UNDEFINED_WHY[metric]} there"
            )
    return num_c / den_c - num_b / den_b


def _resampled_sums(
    columns: list[npt.NDArray[np.int64]],
    n: int,
    resamples: int,
    seed: int,
    tick: Callable[[], None] | None,
) -> list[npt.NDArray[np.int64]]:
    """For each column, its sum over each resample's drawn images (one row of indices per
    resample, the same indices for every column), drawn in bounded chunks.

    Gathering the drawn images' counts is most of the work, so when every sum fits in 31
    bits (`n` x the largest denominator below _PACK_LIMIT, as on any real test set) each
    system's numerator and denominator travel packed in one int64 (numerator << 32 |
    denominator): half the gathers, the same sums."""
    import numpy as np  # noqa: PLC0415 - see paired_bootstrap

    largest = max(int(column.max()) for column in columns)  # a denominator >= its numerator
    packed = n * largest < _PACK_LIMIT
    sources = (
        [(columns[0] << 32) | columns[1], (columns[2] << 32) | columns[3]] if packed else columns
    )
    rng = np.random.default_rng(seed)
    sums = [np.empty(resamples, dtype=np.int64) for _ in sources]
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, resamples, rows):
        stop = min(start + rows, resamples)
        indices = rng.integers(0, n, size=(stop - start, n))
        for source, total in zip(sources, sums, strict=True):
            total[start:stop] = source[indices].sum(axis=1)
        if tick is not None:
            tick()
    if not packed:
        return sums
    low_bits = (1 << 32) - 1
    return [sums[0] >> 32, sums[0] & low_bits, sums[1] >> 32, sums[1] & low_bits]


class Judgement(enum.StrEnum):
    """What an interval says about a rule's allowed drop."""

    FAIL = "fail"  # the point and the whole interval lie beyond the allowed drop
    INCONCLUSIVE = "inconclusive"  # the point is beyond it but the interval reaches inside
    PASS = "pass"  # noqa: S105 - the point is within the allowed drop (not a password)


def judge(interval: Interval, allowed_drop: float) -> Judgement:
    """FAIL when the whole interval lies beyond the allowed drop (`high < -allowed_drop`) and
    so does the point estimate; INCONCLUSIVE when the point estimate is beyond it
    (`point < -allowed_drop`) but the interval reaches back inside; PASS otherwise.

    `allowed_drop` >= 0 is the largest drop the rule allows. "Beyond" means by more than
    TOLERANCE, as in rule evaluation, so a drop of exactly the allowed amount passes.
    An interval never fails a check whose point estimate passes: the rare interval that lies
    wholly beyond a point that is within the allowed drop (a very skewed resample
    distribution) is INCONCLUSIVE, not a failure and not a silent pass.
    Raises ValueError for a negative or non-finite allowed drop or a non-finite interval.
    """
    if not (isinstance(allowed_drop, float | int) and math.isfinite(allowed_drop)):
        raise ValueError(f"allowed_drop must be a finite number, got {allowed_drop!r}")
    if allowed_drop < 0:
        raise ValueError(f"allowed_drop must be >= 0, got {allowed_drop!r}")
    values = (interval.point, interval.low, interval.high)
    if not all(math.isfinite(value) for value in values):
        raise ValueError(f"the interval is not finite: {values!r}")
    limit = -allowed_drop - TOLERANCE
    point_beyond = interval.point < limit
    interval_beyond = interval.high < limit
    if point_beyond and interval_beyond:
        return Judgement.FAIL
    if point_beyond or interval_beyond:
        return Judgement.INCONCLUSIVE
    return Judgement.PASS
