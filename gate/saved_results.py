"""The saved-files results source: map-results documents (and saved evaluations' panels) read
from disk, with another source (the API) for the evaluations the files do not hold.

A saved document is either plain map-results or a saved evaluation: one JSON object with the
map-results under `map-results` and each panel's answers by split under the panel's endpoint
name. An evaluation read from a file is never asked of the fallback, and a file says nothing
of its evaluation (`has_info` is False for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.core.errors import UsageError
from gate.core.eval_info import EvalInfo, EvalQuery
from gate.fetch import CONFUSION, IMAGES, PERFORMANCE, PanelUnavailable, ResultsSource

__all__ = ["SAVED_MAP_RESULTS", "SAVED_PANELS", "SavedResults"]

# A saved evaluation with its panels (one JSON object): the map-results under this key, and
# each panel's answers by split under the panel's endpoint name. A document without it is a
# plain map-results document.
SAVED_MAP_RESULTS = "map-results"
SAVED_PANELS: Mapping[str, str] = {
    "confusion-matrix": CONFUSION,
    "performance-by-class": PERFORMANCE,
    "image-predictions": IMAGES,
}


def _saved_eval(eval_id: str, document: Any) -> tuple[Any, dict[str, Mapping[str, Any]]]:
    """A saved document's map-results and panels (by endpoint name, then split): a plain
    map-results document has no panels. UsageError for a saved eval of the wrong shape."""
    if not isinstance(document, dict) or SAVED_MAP_RESULTS not in document:
        return document, {}
    known = (SAVED_MAP_RESULTS, *SAVED_PANELS)
    unknown = [key for key in document if key not in known]
    if unknown:
        raise UsageError(
            f"the saved results of eval {eval_id} have an unknown key {unknown[0]!r}: a saved "
            f"evaluation holds {', '.join(repr(k) for k in known)}"
        )
    panels: dict[str, Mapping[str, Any]] = {}
    for name in SAVED_PANELS:
        by_split = document.get(name)
        if by_split is None:
            continue
        if not isinstance(by_split, dict):
            raise UsageError(
                f"the saved results of eval {eval_id}: {name!r} must map each split (test, "
                f"valid, train) to Roboflow's {name} answer for it"
            )
        panels[name] = by_split
    return document[SAVED_MAP_RESULTS], panels


class SavedResults:
    """Saved map-results documents (and, in a saved evaluation, its panels), falling back to
    another source (the API) when given one, for the evaluations the files do not hold.

    An evaluation whose results come from a file is read from that file only: its
    map-results, its panels (a saved evaluation's) and its info (none: a file does not say
    it). Nothing about it is ever asked of the fallback, whatever key, workspace or API URL
    it was built with: a panel the file lacks is unavailable (its checks follow `if_missing`)
    and its info is unknown."""

    def __init__(self, documents: Mapping[str, Any], fallback: ResultsSource | None = None) -> None:
        self._documents: dict[str, Any] = {}
        self._panels: dict[str, dict[str, Mapping[str, Any]]] = {}
        for eval_id, document in documents.items():
            self._documents[eval_id], self._panels[eval_id] = _saved_eval(eval_id, document)
        self._fallback = fallback

    @property
    def ids(self) -> list[str]:
        return list(self._documents)

    async def map_results(self, eval_id: str) -> Any:
        if eval_id in self._documents:
            return self._documents[eval_id]
        if self._fallback is None:
            raise UsageError(
                f"no results for eval {eval_id}: pass --results {eval_id}=PATH, "
                "or set ROBOFLOW_API_KEY to fetch it"
            )
        return await self._fallback.map_results(eval_id)

    def _saved(self, name: str, eval_id: str, split: str) -> tuple[Any, ResultsSource | None]:
        """A panel's saved answer for `split` (None: ask the source returned instead, the API,
        for an eval the files do not hold); PanelUnavailable when there is neither."""
        if eval_id in self._documents:
            saved = self._panels[eval_id].get(name, {}).get(split)
            if saved is None:
                raise PanelUnavailable(
                    f"{SAVED_PANELS[name]} of eval {eval_id} is not in its saved results (an "
                    "eval read from a file is never fetched): save the panel beside its "
                    "map-results, as a saved evaluation",
                    eval_id=eval_id,
                )
            return saved, None
        if self._fallback is None:
            raise PanelUnavailable(
                f"{SAVED_PANELS[name]} of eval {eval_id} is not in saved results: set "
                "ROBOFLOW_API_KEY to fetch it",
                eval_id=eval_id,
            )
        return None, self._fallback

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        saved, api = self._saved("confusion-matrix", eval_id, split)
        if api is None:
            return saved
        return await api.confusion_matrix(eval_id, split)

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        saved, api = self._saved("performance-by-class", eval_id, split)
        if api is None:
            return saved
        return await api.performance_by_class(eval_id, split)

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        saved, api = self._saved("image-predictions", eval_id, split)
        if api is None:
            return _page_of(saved, offset, limit)
        return await api.image_predictions(eval_id, split, offset, limit)

    def has_info(self, eval_id: str) -> bool:
        """Whether `eval_info(eval_id)` asks the API: a saved file says nothing of its eval
        (model, dataset version, created), and without a fallback nothing is asked."""
        return self._fallback is not None and eval_id not in self._documents

    async def eval_info(self, eval_id: str) -> EvalInfo:
        if eval_id in self._documents:
            raise UsageError(
                f"eval {eval_id} comes from a saved results file, which does not say its "
                "model, dataset version or creation time (and an eval read from a file is "
                "never looked up): baseline: auto and champion need them; name the "
                "baseline's id instead and pass its results with --results ID=PATH"
            )
        if self._fallback is None:
            raise UsageError(
                f"baseline: auto for eval {eval_id} needs the Roboflow API: set ROBOFLOW_API_KEY, "
                "or name the baseline's id and pass its results with --results ID=PATH"
            )
        return await self._fallback.eval_info(eval_id)

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        if self._fallback is None:
            named = query.named
            raise UsageError(
                f"finding the evaluation of {named} needs the Roboflow API: set ROBOFLOW_API_KEY"
                if named
                else "listing evaluations needs the Roboflow API: set ROBOFLOW_API_KEY"
            )
        return await self._fallback.list_evals(query)


def _page_of(saved: Any, offset: int, limit: int) -> Any:
    """One page of a saved image-predictions answer that holds every image (as the API would
    page it); an answer of another shape is passed on for the page reader to refuse."""
    images = saved.get("images") if isinstance(saved, dict) else None
    if not isinstance(images, list):
        return saved
    return {
        **saved,
        "totalImages": saved.get("totalImages", len(images)),
        "offset": offset,
        "limit": limit,
        "images": images[offset : offset + limit],
    }
