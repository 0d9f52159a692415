"""The trend of one gated evaluation's headline metric (pure values): the candidate, its
baseline and the last done evaluations of its dataset version, in creation order."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Trend", "TrendPoint", "TrendRole", "trend_of"]


class TrendRole(enum.StrEnum):
    CANDIDATE = "candidate"
    BASELINE = "baseline"
    EARLIER = "earlier"  # another done evaluation of the candidate's dataset version


@dataclass(frozen=True, slots=True)
class TrendPoint:
    eval_id: str
    model_id: str | None
    created_at: str | None  # ISO 8601
    value: float  # the headline metric on test, in [0, 1]
    role: TrendRole


@dataclass(frozen=True, slots=True)
class Trend:
    """The chart's points (creation order, the candidate last among equals) and the evals
    that could not be charted (their headline metric could not be had)."""

    metric: str  # the metric's name in map-results: map50_95, miou
    label: str  # as people write it: mAP@50:95, mIoU
    version_id: str  # the dataset version (its test set)
    points: tuple[TrendPoint, ...]
    left_out: tuple[str, ...] = ()  # eval ids

    @property
    def candidate(self) -> TrendPoint | None:
        return next((p for p in self.points if p.role is TrendRole.CANDIDATE), None)


_ORDER = {TrendRole.EARLIER: 0, TrendRole.BASELINE: 1, TrendRole.CANDIDATE: 2}


def trend_of(
    metric: str,
    label: str,
    version_id: str,
    points: Iterable[TrendPoint],
    left_out: Iterable[str] = (),
) -> Trend:
    """A trend with its points in creation order (ties by role: the candidate last; an
    unknown time first, except the candidate's, last)."""
    ordered = sorted(points, key=_when)
    return Trend(metric, label, version_id, tuple(ordered), tuple(left_out))


def _when(point: TrendPoint) -> tuple[int, str, int]:
    if point.created_at is not None:
        return 1, point.created_at, _ORDER[point.role]
    return (2 if point.role is TrendRole.CANDIDATE else 0), "", _ORDER[point.role]
