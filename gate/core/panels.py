"""Parsing Roboflow's confusion-matrix, performance-by-class and image-predictions panels.

Pure: values in, values out. Each parser takes a panel's decoded JSON answer and returns a
frozen value, or raises `MalformedResults` with one line saying what is wrong with it (a
data error: never a pass). Per-class metrics are looked up like map-results' values: a float
in [0, 1], `Missing` (absent or null: the rule's `if_missing` decides) or `Malformed`.
`contradiction` says why a split's image-predictions and confusion matrix cannot describe the
same evaluation (their counts, confidence or image count disagree).

Everything untrusted is bounded: at most `MAX_CLASSES` classes, cells and counts below
`MAX_COUNT`, at most `MAX_IMAGES` images per split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from gate.core.results import Malformed, MalformedResults, Missing, Value, describe, number

__all__ = [
    "BACKGROUND",
    "MAX_CLASSES",
    "MAX_COUNT",
    "MAX_IMAGES",
    "ClassPerformance",
    "ConfusionMatrix",
    "ImageCounts",
    "ImagePage",
    "SplitImages",
    "contradiction",
    "parse_confusion_matrix",
    "parse_image_page",
    "parse_performance_by_class",
    "stitch_image_pages",
]

BACKGROUND = "background"
MAX_CLASSES = 2_000  # classes in a confusion matrix (background included) or a class panel
MAX_COUNT = 2**53  # a cell or a count must be below this (exact in a float; no bignums)
MAX_IMAGES = 100_000  # images per split in image-predictions (so paging always ends)

_STATS = (("tp", "truePositives"), ("fp", "falsePositives"), ("fn", "falseNegatives"))


def _count(value: Any) -> TypeGuard[int]:
    """A JSON integer usable as a count: not a bool, not a float, 0 <= value < MAX_COUNT."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_COUNT


def _check_split(data: Mapping[str, Any], split: str, what: str, eval_id: str) -> None:
    """An answer that names a split other than the one asked for is not the one asked for."""
    answered = data.get("split")
    if answered is not None and answered != split:
        raise MalformedResults(
            f"{what} answered split {describe(answered)}, not '{split}' as asked",
            eval_id=eval_id,
        )


# --------------------------------------------------------------------------- confusion matrix


@dataclass(frozen=True, slots=True)
class ConfusionMatrix:
    """One split's confusion matrix: `rows[actual][predicted]`, the last class `background`
    (its row: false positives; its column: missed objects). Detection cells count objects."""

    eval_id: str
    split: str
    confidence: float | None  # the answer's confidenceThreshold
    classes: tuple[str, ...]  # as answered, "background" last
    rows: tuple[tuple[int, ...], ...] = field(repr=False)  # rows[actual][predicted]

    def support(self, class_name: str) -> int | Missing:
        """How many ground-truth objects of `class_name` the split has: its row's sum."""
        if class_name == BACKGROUND:
            return Missing(
                f"'{BACKGROUND}' is the confusion matrix's no-object row, not a class "
                f"(split '{self.split}')"
            )
        try:
            index = self.classes.index(class_name)
        except ValueError:
            return Missing(
                f"class {describe(class_name)} is not in the confusion matrix "
                f"of split '{self.split}'"
            )
        return sum(self.rows[index])

    def micro_counts(self) -> tuple[int, int, int]:
        """(tp, fp, fn) summed over the foreground classes: tp is the foreground diagonal;
        fp, every foreground predicted column (background row included) minus tp; fn, every
        foreground actual row (background column included) minus tp."""
        foreground = len(self.classes) - 1
        tp = sum(self.rows[i][i] for i in range(foreground))
        predicted = sum(sum(row[:foreground]) for row in self.rows)
        actual = sum(sum(self.rows[i]) for i in range(foreground))
        return tp, predicted - tp, actual - tp


def parse_confusion_matrix(data: Any, eval_id: str, split: str) -> ConfusionMatrix:
    """Read a confusion-matrix answer; raise MalformedResults (one line) on a wrong shape."""
    what = f"the confusion matrix of eval {eval_id} (split {split})"

    def bad(problem: str) -> MalformedResults:
        return MalformedResults(f"{what} {problem}", eval_id=eval_id)

    if not isinstance(data, dict):
        raise bad("is not a JSON object")
    _check_split(data, split, what, eval_id)
    confidence = _confidence(data, bad)
    classes = data.get("classes")
    matrix = data.get("matrix")
    if not isinstance(classes, list):
        raise bad("has no 'classes' list")
    if not isinstance(matrix, list):
        raise bad("has no 'matrix' list")
    if len(classes) > MAX_CLASSES:
        raise bad(f"has {len(classes):,} classes; eval-gate reads at most {MAX_CLASSES:,}")
    if not classes:
        raise bad("has no classes")
    seen: set[str] = set()
    for position, name in enumerate(classes):
        if not isinstance(name, str) or not name:
            raise bad(f"has class #{position} = {describe(name)}, expected a non-empty string")
        if name in seen:
            raise bad(f"names class {describe(name)} twice")
        seen.add(name)
    if classes[-1] != BACKGROUND:
        where = "not last" if BACKGROUND in seen else "missing"
        raise bad(f"has its '{BACKGROUND}' class {where} (the last class must be it)")
    size = len(classes)
    if len(matrix) != size:
        raise bad(f"has {len(matrix):,} rows for {size:,} classes")
    rows: list[tuple[int, ...]] = []
    for actual, row in enumerate(matrix):
        if not isinstance(row, list) or len(row) != size:
            got = f"{len(row):,} cells" if isinstance(row, list) else describe(row)
            raise bad(f"row {actual} ({describe(classes[actual])}) has {got}, expected {size:,}")
        for predicted, cell in enumerate(row):
            if not _count(cell):
                raise bad(
                    f"cell [{actual}][{predicted}] is {describe(cell)}, expected a "
                    "non-negative integer count"
                )
        rows.append(tuple(row))
    return ConfusionMatrix(
        eval_id=eval_id,
        split=split,
        confidence=confidence,
        classes=tuple(classes),
        rows=tuple(rows),
    )


def _confidence(data: Mapping[str, Any], bad: Callable[[str], MalformedResults]) -> float | None:
    raw = data.get("confidenceThreshold")
    if raw is None:
        return None
    found = number(data, "confidenceThreshold", "")
    if not isinstance(found, float):
        raise bad(f"has confidenceThreshold {describe(raw)}, expected a number in [0, 1]")
    return found


# --------------------------------------------------------------------------- performance by class


@dataclass(frozen=True, slots=True)
class ClassPerformance:
    """One split's performance-by-class: each class's raw entry, keyed by its name.

    Read values with `value()`: a class named twice is kept in `classes` (its first entry)
    but `value()` answers Malformed for it (`malformed` says why)."""

    eval_id: str
    split: str
    classes: Mapping[str, Mapping[str, Any]] = field(repr=False)  # className -> raw entry
    malformed: Mapping[str, Malformed] = field(default_factory=dict, repr=False)

    def value(self, metric: str, class_name: str) -> Value:
        """`metric` (precision, recall, f1, map50, iou...) of `class_name`, or why there is
        none: Missing when the class is absent or the value null, Malformed for bad data."""
        where = f" for class {describe(class_name)} in performance-by-class of split '{self.split}'"
        problem = self.malformed.get(class_name)
        if problem is not None:
            return problem
        entry = self.classes.get(class_name)
        if entry is None:
            return Missing(
                f"class {describe(class_name)} is absent from performance-by-class "
                f"of split '{self.split}'"
            )
        return number(entry, metric, where)


def parse_performance_by_class(data: Any, eval_id: str, split: str) -> ClassPerformance:
    """Read a performance-by-class answer; raise MalformedResults (one line) on a wrong
    shape. A class named twice is Malformed (for that class only)."""
    what = f"performance-by-class of eval {eval_id} (split {split})"

    def bad(problem: str) -> MalformedResults:
        return MalformedResults(f"{what} {problem}", eval_id=eval_id)

    if not isinstance(data, dict):
        raise bad("is not a JSON object")
    _check_split(data, split, what, eval_id)
    entries = data.get("classes")
    if not isinstance(entries, list):
        raise bad("has no 'classes' list")
    if len(entries) > MAX_CLASSES:
        raise bad(f"has {len(entries):,} classes; eval-gate reads at most {MAX_CLASSES:,}")
    classes: dict[str, Mapping[str, Any]] = {}
    malformed: dict[str, Malformed] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise bad(f"has classes[{position}] = {describe(entry)}, expected an object")
        name = entry.get("className")
        if not isinstance(name, str) or not name:
            raise bad(f"has classes[{position}] with className {describe(name)}")
        if name in classes:
            malformed[name] = Malformed(
                f"class {describe(name)} appears twice in performance-by-class of split '{split}'"
            )
        else:
            classes[name] = entry
    return ClassPerformance(eval_id=eval_id, split=split, classes=classes, malformed=malformed)


# --------------------------------------------------------------------------- image predictions


@dataclass(frozen=True, slots=True)
class ImageCounts:
    """One image's true positive, false positive and false negative counts."""

    image_id: str
    tp: int
    fp: int
    fn: int


@dataclass(frozen=True, slots=True)
class ImagePage:
    """One page of image-predictions: `total` images in the split, these from `offset`."""

    total: int
    offset: int
    images: tuple[ImageCounts, ...] = field(repr=False)
    confidence: float | None = None  # the answer's confidenceThreshold


@dataclass(frozen=True, slots=True)
class SplitImages:
    """Every image of one split's image-predictions, in offset order, with what the answer
    said of them: `total` (its totalImages) and `confidence` (its confidenceThreshold)."""

    eval_id: str
    split: str
    images: tuple[ImageCounts, ...] = field(repr=False)
    total: int
    confidence: float | None = None

    def counts(self) -> tuple[int, int, int]:
        """(tp, fp, fn) summed over the images."""
        return (
            sum(image.tp for image in self.images),
            sum(image.fp for image in self.images),
            sum(image.fn for image in self.images),
        )


def parse_image_page(data: Any, eval_id: str) -> ImagePage:
    """Read one image-predictions page; raise MalformedResults (one line, naming the image
    and the field) on a wrong shape. More than MAX_IMAGES images in all is refused."""
    what = f"image-predictions of eval {eval_id}"

    def bad(problem: str) -> MalformedResults:
        return MalformedResults(f"{what} {problem}", eval_id=eval_id)

    if not isinstance(data, dict):
        raise bad("is not a JSON object")
    confidence = _confidence(data, bad)
    total = data.get("totalImages")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise bad(f"has totalImages {describe(total)}, expected a non-negative integer")
    if total > MAX_IMAGES:
        raise bad(f"has {total:,} images, more than {MAX_IMAGES:,} images; eval-gate stops there")
    offset = data.get("offset", 0)
    if not _count(offset):
        raise bad(f"has offset {describe(offset)}, expected a non-negative integer")
    raw_images = data.get("images")
    if not isinstance(raw_images, list):
        raise bad("has no 'images' list")
    if len(raw_images) > MAX_IMAGES:
        raise bad(f"has a page of {len(raw_images):,} images, more than {MAX_IMAGES:,} images")
    images: list[ImageCounts] = []
    for position, entry in enumerate(raw_images):
        if not isinstance(entry, dict):
            raise bad(f"has images[{position}] = {describe(entry)}, expected an object")
        image_id = entry.get("imageId")
        if not isinstance(image_id, str) or not image_id:
            raise bad(f"has images[{position}] with imageId {describe(image_id)}")
        stats = entry.get("stats")
        if not isinstance(stats, dict):
            raise bad(f"has image {describe(image_id)} without a 'stats' object")
        counts: dict[str, int] = {}
        for name, key in _STATS:
            raw = stats.get(key)
            if not _count(raw):
                raise bad(
                    f"has image {describe(image_id)} with stats.{key} = {describe(raw)}, "
                    "expected a non-negative integer"
                )
            counts[name] = raw
        images.append(ImageCounts(image_id, counts["tp"], counts["fp"], counts["fn"]))
    return ImagePage(total=total, offset=offset, images=tuple(images), confidence=confidence)


def stitch_image_pages(pages: Iterable[ImagePage], eval_id: str, split: str) -> SplitImages:
    """Every image of a split from its pages, in offset order. Raises MalformedResults when
    the pages disagree on the total or the confidence threshold (those that say it), an image
    id is seen twice, or the images do not add up to the total (fewer: "stopped at N of M
    images")."""
    ordered = sorted(pages, key=lambda page: page.offset)
    what = f"image-predictions of eval {eval_id} (split {split})"
    if not ordered:
        return SplitImages(eval_id, split, (), total=0)
    total = ordered[0].total
    confidence: float | None = None  # the first a page says (a page may leave it out)
    images: list[ImageCounts] = []
    seen: set[str] = set()
    for page in ordered:
        if page.total != total:
            raise MalformedResults(
                f"{what} changed totalImages from {total:,} to {page.total:,} while paging; "
                "run the gate again",
                eval_id=eval_id,
            )
        if page.confidence is not None:
            if confidence is not None and page.confidence != confidence:
                raise MalformedResults(
                    f"{what} changed confidenceThreshold from {confidence:g} to "
                    f"{page.confidence:g} while paging; run the gate again",
                    eval_id=eval_id,
                )
            confidence = page.confidence
        for image in page.images:
            if image.image_id in seen:
                raise MalformedResults(
                    f"{what} lists image {describe(image.image_id)} twice", eval_id=eval_id
                )
            seen.add(image.image_id)
            images.append(image)
    if len(images) < total:
        raise MalformedResults(
            f"image-predictions of eval {eval_id} stopped at {len(images):,} of {total:,} images "
            f"(split {split})",
            eval_id=eval_id,
        )
    if len(images) > total:
        raise MalformedResults(
            f"{what} gave {len(images):,} images but totalImages is {total:,}", eval_id=eval_id
        )
    return SplitImages(eval_id, split, tuple(images), total=total, confidence=confidence)


# --------------------------------------------------------------------------- agreement

_COUNT_NAMES = ("true positives", "false positives", "false negatives")
_SAME_CONFIDENCE = 1e-9  # two confidenceThresholds closer than this are the same one


def contradiction(matrix: ConfusionMatrix, images: SplitImages) -> str | None:
    """Why one split's image-predictions and confusion matrix cannot describe the same
    evaluation, or None when they agree: the images listed must be `totalImages`, both panels
    must be at the same confidenceThreshold (when both say it), and the images' true
    positives, false positives and false negatives must add up to the matrix's (its micro
    counts). The reason names both panels and says by how much they disagree."""
    where = f"eval {images.eval_id} (split {images.split})"
    if len(images.images) != images.total:
        return (
            f"image-predictions of {where} list {len(images.images):,} images but say "
            f"totalImages {images.total:,}"
        )
    mine, theirs = images.confidence, matrix.confidence
    if mine is not None and theirs is not None and abs(mine - theirs) > _SAME_CONFIDENCE:
        return (
            f"image-predictions of {where} are at confidenceThreshold {mine:g} but its "
            f"confusion matrix at {theirs:g}: they must be at the same confidence"
        )
    off = [
        f"{name} {listed:,} vs {counted:,} (off by {abs(listed - counted):,})"
        for name, listed, counted in zip(
            _COUNT_NAMES, images.counts(), matrix.micro_counts(), strict=True
        )
        if listed != counted
    ]
    if not off:
        return None
    return (
        f"image-predictions and the confusion matrix of {where} disagree: summed over the "
        f"{len(images.images):,} images vs in the matrix, {', '.join(off)}; they must "
        "describe the same evaluation"
    )
