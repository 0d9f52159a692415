"""The metric catalogue: which metrics exist, for which task type, at which levels."""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass


class TaskType(enum.StrEnum):
    """The `taskType` discriminator of a map-results response."""

    DETECTION = "object-detection-like"
    SEGMENTATION = "semantic-segmentation"


SPLITS: tuple[str, ...] = ("test", "valid", "train")
OBJECT_SIZES: tuple[str, ...] = ("small", "medium", "large")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What one metric name means and where it can be measured."""

    name: str
    tasks: tuple[TaskType, ...]  # the task types that measure it
    label: str
    split_level: bool  # measured for a whole split
    per_class: bool  # measured per class
    by_size: bool  # measured per object size (detection only)

    @property
    def task_names(self) -> str:
        """The task types that measure it, for messages: `a or b`."""
        return " or ".join(task.value for task in self.tasks)


# Precision, recall and F1 are measured for both: semantic segmentation's come with the
# map-results (pixel-level, macro over classes); a detection-like eval's per class come from
# Roboflow's performance-by-class panel and for the split are micro-averaged from its confusion
# matrix at the eval's canonical confidence.
_BOTH = (TaskType.DETECTION, TaskType.SEGMENTATION)
# The metrics per-image true/false positive counts can rebuild (a paired bootstrap's metrics).
COUNT_METRICS: tuple[str, ...] = ("precision", "recall", "f1")


def count_ratio(metric: str, tp: int, fp: int, fn: int) -> tuple[int, int]:
    """(numerator, denominator) of a micro-averaged COUNT_METRICS metric from summed true
    positives, false positives and false negatives (f1 = 2PR / (P + R) = 2tp / (2tp + fp + fn));
    the metric is undefined when the denominator is 0."""
    if metric == "precision":
        return tp, tp + fp
    if metric == "recall":
        return tp, tp + fn
    if metric == "f1":
        return 2 * tp, 2 * tp + fp + fn
    raise ValueError(f"{metric!r} is not rebuilt from counts; one of {', '.join(COUNT_METRICS)}")


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "map50", (TaskType.DETECTION,), "mAP@50", split_level=True, per_class=True, by_size=True
        ),
        MetricSpec(
            "map50_95",
            (TaskType.DETECTION,),
            "mAP@50:95",
            split_level=True,
            per_class=True,
            by_size=True,
        ),
        MetricSpec(
            "map75", (TaskType.DETECTION,), "mAP@75", split_level=True, per_class=True, by_size=True
        ),
        MetricSpec(
            "miou",
            (TaskType.SEGMENTATION,),
            "mIoU",
            split_level=True,
            per_class=False,
            by_size=False,
        ),
        MetricSpec(
            "iou", (TaskType.SEGMENTATION,), "IoU", split_level=False, per_class=True, by_size=False
        ),
        MetricSpec(
            "precision",
            _BOTH,
            "precision",
            split_level=True,
            per_class=True,
            by_size=False,
        ),
        MetricSpec(
            "recall",
            _BOTH,
            "recall",
            split_level=True,
            per_class=True,
            by_size=False,
        ),
        MetricSpec("f1", _BOTH, "F1", split_level=True, per_class=True, by_size=False),
    )
}

# Names people type for our metrics, mapped to the right one.
_ALIASES: dict[str, str] = {
    "map": "map50",
    "map@50": "map50",
    "map@0.5": "map50",
    "map_50": "map50",
    "map50-95": "map50_95",
    "map50:95": "map50_95",
    "map@50:95": "map50_95",
    "map_50_95": "map50_95",
    "map5095": "map50_95",
    "map@75": "map75",
    "map_75": "map75",
    "mean_iou": "miou",
    "m_iou": "miou",
    "f1_score": "f1",
    "f1score": "f1",
}


def suggest_metric(name: str) -> str | None:
    """The metric the user most likely meant by an unknown `name`, or None."""
    lowered = name.strip().lower()
    if lowered in METRICS:
        return lowered
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    close = difflib.get_close_matches(lowered, list(METRICS), n=1, cutoff=0.6)
    return close[0] if close else None
