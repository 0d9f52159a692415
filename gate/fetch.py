"""Getting every evaluation's results (and its baseline's) concurrently, waiting while they run.

The results-source port: `ResultsSource` and the errors it raises (`NotReady`, while an
evaluation has no results yet) are defined here, and it speaks the core's `EvalInfo` and
`EvalQuery`; adapters (the Roboflow client, saved files: `gate.saved_results`) produce them.
The source is passed in, so this module does no I/O of its own beyond awaiting it, and
imports no adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from gate.core.errors import ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery, newest, once_each
from gate.core.panels import (
    ClassPerformance,
    ConfusionMatrix,
    ImagePage,
    SplitImages,
    parse_confusion_matrix,
    parse_image_page,
    parse_performance_by_class,
    stitch_image_pages,
)
from gate.core.results import (
    EvalResults,
    MalformedResults,
    parse_map_results,
)

__all__ = [
    "CONFUSION",
    "IMAGES",
    "IMAGE_PAGE",
    "MIN_POLL_INTERVAL",
    "PERFORMANCE",
    "FetchOptions",
    "Fetcher",
    "NotReady",
    "PanelUnavailable",
    "ResultsSource",
]

_RUNNING = frozenset({"running", "pending", "queued", "created", "in_progress", "started"})


class NotReady(ResultsUnavailable):
    """The evaluation has no results yet (still running, or its data is missing): the
    fetcher then asks for its status and waits, rather than failing."""


class PanelUnavailable(ResultsUnavailable):
    """A panel (confusion matrix, performance by class, image predictions) of an eval whose
    map-results arrived cannot be had: Roboflow answers 409 model_eval_not_done for it (its
    data is missing), or the run is offline (saved results hold map-results only). Not a
    usage error: the caller turns it into a per-check "missing" that follows the rule's
    `if_missing`."""


CONFUSION = "the confusion matrix"
PERFORMANCE = "the performance by class"
IMAGES = "the image predictions"
IMAGE_PAGE = 1000  # images asked per image-predictions page (the API's maximum)


class ResultsSource(Protocol):
    """Where map-results, the panels and eval metadata come from."""

    async def map_results(self, eval_id: str) -> Any: ...

    async def eval_info(self, eval_id: str) -> EvalInfo: ...

    def has_info(self, eval_id: str) -> bool:
        """Whether `eval_info(eval_id)` can say what the eval is (model, dataset version,
        created): the API can; a saved results file cannot (the eval's info is unknown)."""
        ...

    async def confusion_matrix(self, eval_id: str, split: str) -> Any: ...

    async def performance_by_class(self, eval_id: str, split: str) -> Any: ...

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any: ...

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]: ...


MIN_POLL_INTERVAL = 1.0
"""Seconds, at least, between looks at a running evaluation (every face refuses less): a poll
interval of 0.0001 s sent 2,309 requests in 3 s."""


@dataclass(frozen=True, slots=True)
class FetchOptions:
    concurrency: int = 8  # requests in flight at once
    wait: float = 600.0  # seconds to wait for a running evaluation
    poll_interval: float = 10.0  # seconds between looks at a running evaluation
    deadline: float | None = None  # the clock time the whole run must end by (None: no limit)


class Fetcher:
    """Fetches each evaluation once, however often it is asked for, with bounded concurrency."""

    def __init__(
        self,
        source: ResultsSource,
        options: FetchOptions,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._source = source
        self._options = options
        self._clock = clock
        self._sleep = sleep
        self._limit = asyncio.Semaphore(max(1, options.concurrency))
        self._results: dict[str, asyncio.Future[EvalResults]] = {}
        self._infos: dict[str, asyncio.Future[EvalInfo]] = {}
        # The list answers of this run, per filter: one call serves every eval named by it.
        self._lists: dict[EvalQuery, asyncio.Future[list[EvalInfo]]] = {}
        # Fetches only the trend asked for (results by eval id, lists by filter): when it
        # stops waiting for them, `let_go` stops them. Another use of one takes it off.
        self._trend_results: set[str] = set()
        self._trend_lists: set[EvalQuery] = set()
        # The panels of this run, per (eval, split).
        self._confusions: dict[tuple[str, str], asyncio.Future[ConfusionMatrix]] = {}
        self._performances: dict[tuple[str, str], asyncio.Future[ClassPerformance]] = {}
        self._images: dict[tuple[str, str], asyncio.Future[SplitImages]] = {}
        self._log = structlog.get_logger("gate.fetch")

    def results(
        self, eval_id: str, *, give_up: float | None = None, named: str | None = None
    ) -> asyncio.Future[EvalResults]:
        """The (shared) fetch of one evaluation's results. `give_up` (a clock time) ends the
        wait earlier than `wait` from now; `named` says how the user named it, for messages."""
        self._trend_results.discard(eval_id)
        if eval_id not in self._results:
            self._results[eval_id] = asyncio.ensure_future(
                self._fetch(eval_id, give_up=give_up, named=named)
            )
        return self._results[eval_id]

    @property
    def deadline(self) -> float | None:
        """The clock time the run must end by (None: no limit)."""
        return self._options.deadline

    def now(self) -> float:
        """The fetcher's clock."""
        return self._clock()

    def trend_results(self, eval_id: str) -> asyncio.Future[EvalResults]:
        """`results(eval_id)` for the trend: shared like any other, but a fetch the trend
        starts is its own until something else asks for it (`let_go` may stop it)."""
        if eval_id not in self._results:
            self._trend_results.add(eval_id)
            self._results[eval_id] = asyncio.ensure_future(self._fetch(eval_id))
        return self._results[eval_id]

    def listing(
        self, query: EvalQuery, *, for_trend: bool = False
    ) -> asyncio.Future[list[EvalInfo]]:
        """The (shared, cached for the run) list `query` asks for (each eval once).
        `for_trend`: the trend asks (a list it starts is its own, as in `trend_results`)."""
        key = query
        if not for_trend:
            self._trend_lists.discard(key)
        if key not in self._lists:
            if for_trend:
                self._trend_lists.add(key)
            self._lists[key] = asyncio.ensure_future(self._list(query))
        return self._lists[key]

    def let_go(self, eval_ids: Iterable[str] = (), lists: Iterable[EvalQuery] = ()) -> None:
        """Stop the fetches (results of `eval_ids`, `lists`) that only the trend asked for, as
        it no longer waits for them: they free their connections at once. Any other use of
        them asks afresh."""
        for eval_id in eval_ids:
            if eval_id in self._trend_results:
                self._trend_results.discard(eval_id)
                self._results.pop(eval_id).cancel()
        for key in lists:
            if key in self._trend_lists:
                self._trend_lists.discard(key)
                self._lists.pop(key).cancel()

    async def _list(self, query: EvalQuery) -> list[EvalInfo]:
        async with self._limit:
            return once_each(await self._source.list_evals(query))

    async def resolve(self, by: str, ref: str) -> tuple[EvalInfo, float]:
        """The newest evaluation of model (or dataset version) `ref`, waiting for one to
        appear; with the clock time the wait for it to be done must end by (the same budget)."""
        wait = self._options.wait
        started = self._clock()
        give_up = started + wait
        query = EvalQuery.of(by, ref)
        while True:
            listed = self.listing(query)
            evals = await listed
            found = newest(e for e in evals if e.is_of(by, ref))
            if found is not None:
                self._log.info("fetch.resolved", by=by, ref=ref, eval_id=found.eval_id)
                self.remember(found)
                return found, give_up
            remaining = give_up - self._clock()
            if remaining <= 0:
                raise ResultsUnavailable(
                    f"no evaluation of {by} {ref} appeared on Roboflow after waiting {wait:g} s "
                    f"(the eval list filtered by {by}={ref} stayed empty); check the {by} id, "
                    "raise --wait, or run the gate again once Roboflow has evaluated it",
                    eval_id=None,
                )
            self._log.info(
                "fetch.waiting_for_eval",
                by=by,
                ref=ref,
                waited=round(self._clock() - started, 1),
                wait=wait,
            )
            await self._sleep(min(self._options.poll_interval, remaining))
            if self._lists.get(query) is listed:
                del self._lists[query]  # look afresh (other waiters share the new look)

    def remember(self, info: EvalInfo) -> None:
        """Keep a listed eval's metadata, so `info(eval_id)` needs no request for it."""
        if info.eval_id not in self._infos:
            future: asyncio.Future[EvalInfo] = asyncio.get_running_loop().create_future()
            future.set_result(info)
            self._infos[info.eval_id] = future

    def info(self, eval_id: str) -> asyncio.Future[EvalInfo]:
        if eval_id not in self._infos:
            self._infos[eval_id] = asyncio.ensure_future(self._info(eval_id))
        return self._infos[eval_id]

    def known_info(self, eval_id: str) -> EvalInfo | None:
        """An eval's metadata when this run already has it (never a request)."""
        found = self._infos.get(eval_id)
        if found is None or not found.done() or found.cancelled() or found.exception():
            return None
        return found.result()

    def has_info(self, eval_id: str) -> bool:
        """Whether the source can say what an eval is (model, dataset version, created): the
        API can; saved results files cannot (the eval's info is then unknown)."""
        return self._source.has_info(eval_id)

    async def info_or_none(self, eval_id: str) -> EvalInfo | None:
        """An eval's info for the report's provenance: the run's (shared) `info` when the
        source describes it, asked concurrently with its results; None from saved files, or
        when Roboflow could not answer (provenance is informational: it never decides a
        verdict; a missing key, an auth or a not-found error fails the map-results anyway)."""
        if not self.has_info(eval_id):
            return self.known_info(eval_id)
        try:
            return await self.info(eval_id)
        except ResultsUnavailable as error:
            self._log.warning("fetch.info_unavailable", eval_id=eval_id, error=str(error))
            return None

    def cancel(self) -> None:
        for result in self._results.values():
            result.cancel()
        for info in self._infos.values():
            info.cancel()
        for listed in self._lists.values():
            listed.cancel()
        for panels in (self._confusions, self._performances, self._images):
            for panel in panels.values():
                panel.cancel()

    async def _info(self, eval_id: str) -> EvalInfo:
        async with self._limit:
            return await self._source.eval_info(eval_id)

    async def _fetch(
        self, eval_id: str, *, give_up: float | None = None, named: str | None = None
    ) -> EvalResults:
        wait = self._options.wait
        started = self._clock()
        give_up = started + wait if give_up is None else give_up
        what = f"the evaluation of {named} (eval {eval_id})" if named else f"evaluation {eval_id}"
        saw_done = False
        while True:
            async with self._limit:
                try:
                    data = await self._source.map_results(eval_id)
                except NotReady:
                    status = None
                else:
                    self._log.debug("fetch.done", eval_id=eval_id)
                    return parse_map_results(data, eval_id)
            self._infos.pop(eval_id, None)  # the status changes while we wait: ask afresh
            status = (await self.info(eval_id)).status
            if status == "done" and not saw_done:
                saw_done = True  # it may have finished between our two requests: ask again
                continue
            if status == "done":
                raise ResultsUnavailable(
                    f"{what} is done but Roboflow has no map-results for it "
                    "(409 model_eval_not_done); re-run the evaluation in Roboflow",
                    eval_id=eval_id,
                )
            if status not in _RUNNING:
                raise ResultsUnavailable(
                    f"{what} {status} on Roboflow, so there is nothing to gate; "
                    "re-run the evaluation or gate another one",
                    eval_id=eval_id,
                )
            remaining = give_up - self._clock()
            if remaining <= 0:
                raise ResultsUnavailable(
                    f"{what} is still {status} after waiting {wait:g} s; "
                    "raise --wait, or run the gate again when it is done",
                    eval_id=eval_id,
                )
            self._log.info(
                "fetch.waiting",
                eval_id=eval_id,
                status=status,
                waited=round(self._clock() - started, 1),
                wait=wait,
            )
            await self._sleep(min(self._options.poll_interval, remaining))

    # ------------------------------------------------------------------ panels

    def confusion(self, eval_id: str, split: str) -> asyncio.Future[ConfusionMatrix]:
        """The (shared, cached for the run) confusion matrix of one eval's split. Raises
        PanelUnavailable when Roboflow has none (409) or the run is offline."""
        key = (eval_id, split)
        if key not in self._confusions:
            self._confusions[key] = asyncio.ensure_future(self._confusion(eval_id, split))
        return self._confusions[key]

    def class_performance(self, eval_id: str, split: str) -> asyncio.Future[ClassPerformance]:
        """The (shared, cached for the run) performance-by-class of one eval's split."""
        key = (eval_id, split)
        if key not in self._performances:
            self._performances[key] = asyncio.ensure_future(self._performance(eval_id, split))
        return self._performances[key]

    def image_counts(self, eval_id: str, split: str) -> asyncio.Future[SplitImages]:
        """The (shared, cached for the run) per-image tp/fp/fn counts of one eval's split, in
        the API's order: the first page says how many images there are, the other pages are
        then asked concurrently (within the concurrency limit) and stitched in offset order."""
        key = (eval_id, split)
        if key not in self._images:
            self._images[key] = asyncio.ensure_future(self._image_counts(eval_id, split))
        return self._images[key]

    async def _panel(
        self, panel: str, eval_id: str, split: str, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        async with self._limit:
            try:
                return await call()
            except NotReady:
                self._log.warning("fetch.panel_unavailable", eval_id=eval_id, split=split)
                raise PanelUnavailable(
                    f"{panel} of eval {eval_id} (split {split}) is not available on Roboflow "
                    "(409 model_eval_not_done)",
                    eval_id=eval_id,
                ) from None

    async def _confusion(self, eval_id: str, split: str) -> ConfusionMatrix:
        data = await self._panel(
            CONFUSION, eval_id, split, lambda: self._source.confusion_matrix(eval_id, split)
        )
        return parse_confusion_matrix(data, eval_id, split)

    async def _performance(self, eval_id: str, split: str) -> ClassPerformance:
        data = await self._panel(
            PERFORMANCE, eval_id, split, lambda: self._source.performance_by_class(eval_id, split)
        )
        return parse_performance_by_class(data, eval_id, split)

    async def _image_page(self, eval_id: str, split: str, offset: int) -> ImagePage:
        data = await self._panel(
            IMAGES,
            eval_id,
            split,
            lambda: self._source.image_predictions(eval_id, split, offset, IMAGE_PAGE),
        )
        page = parse_image_page(data, eval_id)
        what = f"image-predictions of eval {eval_id} (split {split})"
        if page.offset != offset:
            raise MalformedResults(
                f"{what} answered offset {page.offset:,} when asked for offset {offset:,}",
                eval_id=eval_id,
            )
        if len(page.images) > IMAGE_PAGE:
            raise MalformedResults(
                f"{what} answered {len(page.images):,} images for a limit of {IMAGE_PAGE:,}",
                eval_id=eval_id,
            )
        return page

    async def _image_counts(self, eval_id: str, split: str) -> SplitImages:
        first = await self._image_page(eval_id, split, 0)
        tasks = [
            asyncio.ensure_future(self._image_page(eval_id, split, offset))
            for offset in range(IMAGE_PAGE, first.total, IMAGE_PAGE)
        ]
        try:
            rest = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        self._log.debug(
            "fetch.image_pages",
            eval_id=eval_id,
            split=split,
            pages=1 + len(rest),
            total=first.total,
        )
        return stitch_image_pages([first, *rest], eval_id, split)
