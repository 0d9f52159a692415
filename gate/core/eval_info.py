"""An evaluation's info (what a results source says of it) and the query that lists them.

`EvalInfo` is one model evaluation as the Roboflow API (or any results source) describes it:
its status, project, dataset version, model, creation time and, once done, its summary.
`EvalQuery` is which of a workspace's evaluations to list. Both are plain values: the
results-source port (`gate.fetch`) and its adapters speak them, the baseline policy
(`gate.core.baseline`) and the trend choose among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["MAX_LISTED", "EvalInfo", "EvalQuery", "newest", "once_each"]

MAX_LISTED = 200  # evaluations a list answers at most (the API's largest page)


@dataclass(frozen=True, slots=True)
class EvalInfo:
    """One model evaluation as a results source describes it."""

    eval_id: str
    status: str  # lower-cased: "running" | "done" | "failed" | whatever the source says
    project: str | None
    version_id: str | None
    model_id: str | None
    created_at: datetime | None  # timezone-aware
    summary: Mapping[str, Any] | None = None  # only when done: mAP (at 0.5), mIoU, ...

    def of_another_project(self, other: EvalInfo) -> bool:
        """Known to be of another project than `other` (both say which, and they differ): a
        dataset version's id is not known to be unique across projects, so such an eval is
        left out of `other`'s version list (auto, champion, base and the trend)."""
        return (
            self.project is not None and other.project is not None and self.project != other.project
        )

    def same_project(self, other: EvalInfo) -> bool:
        """Known to be of `other`'s project (both say which, and agree): with the same dataset
        version, the same test set. An unknown project is not known to share it."""
        return self.project is not None and self.project == other.project

    def is_of(self, by: str, ref: str) -> bool:
        """Whether a listed eval is of model (`by` "model") or dataset version `ref` (a list
        answer that leaves the field out is trusted, as the filter asked for it)."""
        value = self.model_id if by == "model" else self.version_id
        return value is None or value == ref


@dataclass(frozen=True, slots=True)
class EvalQuery:
    """Which of a workspace's evaluations to list (newest first, at most `limit`): filtered by
    at most one of `project`, `model` and `version` (the API refuses more), and by `status`."""

    project: str | None = None
    model: str | None = None
    version: str | None = None
    status: str | None = None
    limit: int = MAX_LISTED

    @classmethod
    def of(cls, by: str, ref: str) -> EvalQuery:
        """Every evaluation of model (`by` "model") or dataset version (`by` "version") `ref`."""
        return cls(model=ref) if by == "model" else cls(version=ref)

    @property
    def named(self) -> str | None:
        """`model M` or `version V` when the query lists one model's or version's evals."""
        if self.model is not None:
            return f"model {self.model}"
        if self.version is not None:
            return f"version {self.version}"
        return None


def once_each(evals: Iterable[EvalInfo]) -> list[EvalInfo]:
    """A list answer with each evaluation once: an id listed again is the same evaluation
    (the first listing, the newest by the list's order, is kept)."""
    found: dict[str, EvalInfo] = {}
    for info in evals:
        found.setdefault(info.eval_id, info)
    return list(found.values())


def newest(evals: Iterable[EvalInfo]) -> EvalInfo | None:
    """The newest of `evals` by creation time; the list's order (newest first) breaks ties and
    stands in for a missing time."""
    best: EvalInfo | None = None
    for info in evals:
        if best is None or (
            info.created_at is not None
            and (best.created_at is None or info.created_at > best.created_at)
        ):
            best = info
    return best
