"""An in-memory `ResultsSource` for fetcher and engine tests that need no server: it records
what it is asked; subclasses answer map-results and info as the test needs. Lists are empty;
a panel is never expected (asking for one fails the test)."""

from __future__ import annotations

from typing import Any

from gate.core.eval_info import EvalInfo, EvalQuery


class MemorySource:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def map_results(self, eval_id: str) -> Any:
        raise NotImplementedError

    async def eval_info(self, eval_id: str) -> EvalInfo:
        raise NotImplementedError

    def has_info(self, eval_id: str) -> bool:
        return True

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        self.asked.append("list")
        return []

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        raise AssertionError(f"asked for the confusion matrix of {eval_id}")

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        raise AssertionError(f"asked for the performance by class of {eval_id}")

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        raise AssertionError(f"asked for the image predictions of {eval_id}")
