"""Parsing a map-results document into values a rule can be checked against.

Every lookup answers a float in [0, 1], or says why there is none: `Missing` (absent or
null: the rule's `if_missing` decides) or `Malformed` (NaN, a string, out of range, a wrong
shape: a data error, never a pass).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.core.errors import ResultsUnavailable
from gate.core.metrics import TaskType


@dataclass(frozen=True, slots=True)
class Missing:
    """The value is absent or null."""

    reason: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """The value (or something around it) is not what the API documents."""

    reason: str


Value = float | Missing | Malformed


class MalformedResults(ResultsUnavailable):
    """The document as a whole cannot be read as map-results."""


@dataclass(frozen=True, slots=True)
class _Split:
    data: Mapping[str, Any]
    classes: Mapping[str, Any] | Malformed | Missing  # class name -> entry (or why there are none)


def describe(value: Any) -> str:
    """A short, one-line rendering of an untrusted JSON value, for messages."""
    if isinstance(value, int) and value.bit_length() > 332:  # repr() refuses 4,300+ digits
        return "an integer of more than 100 digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(container: Mapping[str, Any], key: str, where: str) -> Value:
    """`container[key]` as a float in [0, 1], or why not (`where` ends each message)."""
    if key not in container:
        return Missing(f"'{key}' is absent{where}")
    raw = container[key]
    if raw is None:
        return Missing(f"'{key}' is null{where}")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return Malformed(f"'{key}' is not a number{where}: {describe(raw)}")
    if isinstance(raw, int) and not -1 <= raw <= 1:  # float() of a huge int overflows
        return Malformed(f"'{key}' = {describe(raw)} is outside [0, 1]{where}")
    value = float(raw)
    if math.isnan(value) or math.isinf(value):
        return Malformed(f"'{key}' is {raw}{where}")
    if not 0.0 <= value <= 1.0:
        return Malformed(f"'{key}' = {raw:g} is outside [0, 1]{where}")
    return value


def _index_segmentation_classes(raw: Any, split: str) -> Mapping[str, Any] | Malformed | Missing:
    if raw is None:
        return Missing(f"split '{split}' has no per-class results")
    if not isinstance(raw, list):
        return Malformed(f"'perClass' of split '{split}' is not a list")
    index: dict[str, Any] = {}
    for position, entry in enumerate(raw):
        name = entry.get("className") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            index[f"#{position}"] = Malformed(
                f"perClass[{position}] of split '{split}' has no className"
            )
        elif name in index:
            index[name] = Malformed(f"class '{name}' appears twice in split '{split}'")
        else:
            index[name] = entry
    return index


def _index_detection_classes(raw: Any, split: str) -> Mapping[str, Any] | Malformed | Missing:
    if raw is None:
        return Missing(f"split '{split}' has no per-class results")
    if not isinstance(raw, dict):
        return Malformed(f"'perClass' of split '{split}' is not an object")
    return raw


@dataclass(frozen=True, slots=True)
class EvalResults:
    """One evaluation's map-results, ready for lookups."""

    eval_id: str
    task_type: TaskType
    splits: Mapping[str, _Split | Missing | Malformed] = field(repr=False)

    def split_names(self) -> list[str]:
        """Splits present in the document (not null), in the document's order."""
        return [name for name, split in self.splits.items() if isinstance(split, _Split)]

    def class_names(self, split: str) -> list[str] | Missing | Malformed:
        """Class names of `split` in the document's order, or why there are none."""
        found = self._split(split)
        if not isinstance(found, _Split):
            return found
        if isinstance(found.classes, Missing | Malformed):
            return found.classes
        return list(found.classes)

    def value(
        self,
        metric: str,
        split: str,
        class_name: str | None = None,
        object_size: str | None = None,
    ) -> Value:
        """The metric's value at that scope, or why there is none."""
        found = self._split(split)
        if not isinstance(found, _Split):
            return found
        container: Any = found.data
        where = f" in split '{split}'"
        if class_name is not None:
            if isinstance(found.classes, Missing | Malformed):
                return found.classes
            if class_name not in found.classes:
                return Missing(f"class '{class_name}' is absent{where}")
            container = found.classes[class_name]
            where = f" for class '{class_name}'{where}"
            if isinstance(container, Malformed):
                return container
            if container is None:
                return Missing(f"class '{class_name}' is null{where}")
            if not isinstance(container, dict):
                return Malformed(f"class '{class_name}' is not an object{where}")
        if object_size is not None:
            sizes = container.get("byObjectSize")
            if sizes is None:
                return Missing(f"no object-size breakdown{where}")
            if not isinstance(sizes, dict):
                return Malformed(f"'byObjectSize' is not an object{where}")
            bucket = sizes.get(object_size)
            if bucket is None:
                return Missing(f"no {object_size} objects{where}")
            if not isinstance(bucket, dict):
                return Malformed(f"'{object_size}' bucket is not an object{where}")
            container = bucket
            where = f" for {object_size} objects{where}"
        return number(container, metric, where)

    def split_problem(self, split: str) -> Missing | Malformed | None:
        """Why `split` has no results (absent, null, not an object), or None when it has."""
        found = self._split(split)
        return None if isinstance(found, _Split) else found

    def _split(self, split: str) -> _Split | Missing | Malformed:
        found = self.splits.get(split)
        if found is None:
            return Missing(f"split '{split}' is absent")
        return found


def parse_map_results(data: Any, eval_id: str) -> EvalResults:
    """Read a map-results document; raise MalformedResults if it cannot be read at all."""
    if not isinstance(data, dict):
        raise MalformedResults(
            f"map-results of eval {eval_id} is not a JSON object", eval_id=eval_id
        )
    raw_task = data.get("taskType")
    try:
        task = TaskType(raw_task if isinstance(raw_task, str) else "")
    except ValueError:
        known = ", ".join(t.value for t in TaskType)
        raise MalformedResults(
            f"map-results of eval {eval_id} has taskType {describe(raw_task)}; "
            f"eval-gate understands {known}",
            eval_id=eval_id,
        ) from None
    raw_splits = data.get("splits")
    if not isinstance(raw_splits, dict):
        raise MalformedResults(
            f"map-results of eval {eval_id} has no 'splits' object", eval_id=eval_id
        )
    index = _index_detection_classes if task is TaskType.DETECTION else _index_segmentation_classes
    splits: dict[str, _Split | Missing | Malformed] = {}
    for name, raw in raw_splits.items():
        if raw is None:
            splits[name] = Missing(f"split '{name}' is null")
        elif not isinstance(raw, dict):
            splits[name] = Malformed(f"split '{name}' is not an object")
        else:
            splits[name] = _Split(raw, index(raw.get("perClass"), name))
    return EvalResults(eval_id=eval_id, task_type=task, splits=splits)
