"""Where a rule's value comes from: the map-results, or one of Roboflow's other panels.

Most metrics are read from the map-results (`EvalResults.value`). A detection-like eval's
precision, recall and F1 are not in it: per class they come from the performance-by-class
panel, and for the whole split they are micro-averaged from the confusion matrix at the eval's
canonical confidence (true positives on the diagonal; the background row counts as false
positives, the background column as missed objects, and a confusion between two classes as
both). A class's support (its ground-truth count in the split) is its confusion-matrix row sum.
A split's per-image counts (for confidence intervals) are malformed when they contradict its
confusion matrix: they must describe the same evaluation (`panels.contradiction`).

`Panels` holds what a run fetched of those panels for one eval, per split; a split that could
not be had says why (`Missing` follows the rule's `if_missing`, `Malformed` is an error).
Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gate.core.metrics import COUNT_METRICS, METRICS, TaskType, count_ratio
from gate.core.model import ALL, Rule
from gate.core.panels import ClassPerformance, ConfusionMatrix, SplitImages, contradiction
from gate.core.results import EvalResults, Malformed, Missing, Value


class Panel:
    """The panels beyond map-results, by the names the engine plans fetches with."""

    CONFUSION = "confusion-matrix"
    PERFORMANCE = "performance-by-class"
    IMAGES = "image-predictions"


@dataclass(frozen=True, slots=True)
class Panels:
    """One eval's fetched panels, per split (or why a split's panel is not there)."""

    confusion: Mapping[str, ConfusionMatrix | Missing | Malformed] = field(default_factory=dict)
    performance: Mapping[str, ClassPerformance | Missing | Malformed] = field(default_factory=dict)
    images: Mapping[str, SplitImages | Missing | Malformed] = field(default_factory=dict)

    def confusion_of(self, split: str) -> ConfusionMatrix | Missing | Malformed:
        return self.confusion.get(
            split, Missing(f"the confusion matrix of split '{split}' was not fetched")
        )

    def images_of(self, split: str) -> SplitImages | Missing | Malformed:
        """The split's per-image counts, Malformed when they contradict its confusion matrix
        (the rule's value comes from the matrix, its interval from these: both must describe
        the same evaluation, whatever `if_missing` says)."""
        found = self.images.get(
            split, Missing(f"the per-image counts of split '{split}' were not fetched")
        )
        matrix = self.confusion.get(split)
        if isinstance(found, SplitImages) and isinstance(matrix, ConfusionMatrix):
            problem = contradiction(matrix, found)
            if problem is not None:
                return Malformed(problem)
        return found


NO_PANELS = Panels()


def from_panels(task: TaskType, metric: str) -> bool:
    """Whether `metric` of a `task` eval is read from the panels rather than the map-results."""
    return task is TaskType.DETECTION and metric in COUNT_METRICS


_UNDEFINED = {
    "precision": "no predicted object{where}: precision is undefined",
    "recall": "no ground-truth object{where}: recall is undefined",
    "f1": "no object predicted or present{where}",
}


def micro_value(matrix: ConfusionMatrix, metric: str) -> Value:
    """Micro-averaged precision, recall or F1 of a split from its confusion matrix."""
    numerator, denominator = count_ratio(metric, *matrix.micro_counts())
    if denominator <= 0:
        where = f" in the confusion matrix of split '{matrix.split}'"
        return Missing(_UNDEFINED[metric].format(where=where))
    return numerator / denominator


def value(
    results: EvalResults,
    panels: Panels,
    metric: str,
    split: str,
    *,
    class_name: str | None = None,
    object_size: str | None = None,
) -> Value:
    """The metric's value at that scope, from wherever the eval's task keeps it."""
    if not from_panels(results.task_type, metric) or object_size is not None:
        return results.value(metric, split, class_name, object_size)
    problem = results.split_problem(split)
    if problem is not None:
        return problem
    if class_name is None:
        matrix = panels.confusion_of(split)
        if isinstance(matrix, Missing | Malformed):
            return matrix
        return micro_value(matrix, metric)
    performance = panels.performance.get(
        split, Missing(f"the performance by class of split '{split}' was not fetched")
    )
    if isinstance(performance, Missing | Malformed):
        return performance
    return performance.value(metric, class_name)


def support(panels: Panels, split: str, class_name: str) -> int | Missing | Malformed:
    """The class's ground-truth count in the split (its confusion-matrix row sum)."""
    matrix = panels.confusion_of(split)
    if isinstance(matrix, Missing | Malformed):
        return matrix
    return matrix.support(class_name)


def support_unit(task: TaskType) -> str:
    return "pixels" if task is TaskType.SEGMENTATION else "objects"


@dataclass(frozen=True, slots=True)
class Need:
    """A panel of one split that evaluating some rule on an eval (or its baseline) needs."""

    panel: str
    split: str
    baseline: bool  # the baseline's panel (else the candidate's)
    # Whether a verdict depends on it (a value, min_support, an interval), or only the report
    # (the support shown beside a per-class check): a fetch error then leaves it unknown.
    decides: bool = True


def needs(rules: tuple[Rule, ...], results: EvalResults, *, has_baseline: bool) -> set[Need]:
    """What of the panels the `rules` that apply to this eval need (each once): the confusion
    matrix for the support of every per-class check and for a detection eval's split-level
    precision, recall and F1 (both evals'); performance-by-class for its per-class ones (both
    evals'); the per-image counts for a rule with `confidence` (both evals')."""
    task = results.task_type
    out: set[Need] = set()
    for rule in rules:
        if task not in METRICS[rule.metric].tasks:
            continue
        splits = results.split_names() if rule.splits == ALL else list(rule.splits)
        counted = from_panels(task, rule.metric) and rule.object_size is None
        for split in splits:
            if rule.classes is not None:
                decides = rule.min_support is not None
                out.add(Need(Panel.CONFUSION, split, baseline=False, decides=decides))
            if counted:
                panel = Panel.CONFUSION if rule.classes is None else Panel.PERFORMANCE
                out.add(Need(panel, split, baseline=False))
                if has_baseline:
                    out.add(Need(panel, split, baseline=True))
            if rule.confidence is not None and counted and rule.classes is None:
                out.add(Need(Panel.IMAGES, split, baseline=False))
                if has_baseline:
                    out.add(Need(Panel.IMAGES, split, baseline=True))
    # A panel a verdict depends on is not also asked for as information only.
    return {n for n in out if n.decides or replace(n, decides=True) not in out}


__all__ = [
    "NO_PANELS",
    "Need",
    "Panel",
    "Panels",
    "from_panels",
    "micro_value",
    "needs",
    "support",
    "support_unit",
    "value",
]
