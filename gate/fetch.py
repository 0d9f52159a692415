"""Fetching what a gate needs from a results source: each thing once, waiting while it runs.

The results-source port: `ResultsSource` and the errors it raises (`NotReady`, while an
evaluation has no results yet) are defined here, and it speaks the core's `EvalInfo` and
`EvalQuery`; adapters (the Roboflow client, saved files: `gate.saved_results`) produce them.
`Fetcher` asks the source for each thing a run needs (map-results, an eval's info, a list, a
panel) once, shares it with every asker (one memo), bounds the requests in flight, and polls
a running evaluation (one poll helper, on `gate.sleeping`'s clock and sleep). What to ask for
and what the answers decide is the engine's (`gate.engine`, `gate.baseline_data`,
`gate.trend_data`). The source is passed in: this module does no I/O of its own beyond
awaiting it, and imports no adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

import structlog

from gate.core.errors import GateError, NoEvalAppeared, ResultsUnavailable, StillRunning
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
from gate.core.results import EvalResults, MalformedResults, parse_map_results
from gate.sleeping import poll_clock, resolve_sleep

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


_T = TypeVar("_T")


class _Memo:
    """Each fetch of a run, by key, started once and shared by everyone who asks for it.

    A fetch only the trend asked for is the trend's own (`for_trend`) until anyone else asks:
    `let_go` stops those the trend no longer waits for (another ask then starts afresh)."""

    def __init__(self) -> None:
        self._futures: dict[Hashable, asyncio.Future[Any]] = {}
        self._trend_only: set[Hashable] = set()

    def once(
        self, key: Hashable, start: Callable[[], Awaitable[_T]], *, for_trend: bool = False
    ) -> asyncio.Future[_T]:
        if not for_trend:
            self._trend_only.discard(key)
        if key not in self._futures:
            if for_trend:
                self._trend_only.add(key)
            self._futures[key] = asyncio.ensure_future(start())
        return self._futures[key]

    def put(self, key: Hashable, value: Any) -> None:
        """`value` as the answer for `key`, unless something was asked for it already."""
        if key not in self._futures:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            future.set_result(value)
            self._futures[key] = future

    def known(self, key: Hashable) -> Any | None:
        """The answer for `key` when it is in (never an ask); None otherwise."""
        found = self._futures.get(key)
        if found is None or not found.done() or found.cancelled() or found.exception():
            return None
        return found.result()

    def forget(self, key: Hashable, future: asyncio.Future[Any] | None = None) -> None:
        """The next ask for `key` starts afresh (only if it is still `future`, when given);
        whoever awaits the old fetch still gets its answer."""
        if future is None or self._futures.get(key) is future:
            self._futures.pop(key, None)

    def let_go(self, keys: Iterable[Hashable]) -> None:
        for key in keys:
            if key in self._trend_only:
                self._trend_only.discard(key)
                self._futures.pop(key).cancel()

    def cancel(self) -> None:
        for future in self._futures.values():
            future.cancel()


@dataclass(frozen=True, slots=True)
class _Waiting:
    """What a poll's look saw while there is nothing yet: the log event (and its fields) of
    another wait, and the error to raise when the wait is over (given how long it waited)."""

    event: str
    fields: Mapping[str, Any]
    gave_up: Callable[..., GateError]  # (waited=seconds) -> the error


class Fetcher:
    """Fetches each thing a run needs once, however often it is asked for (one memo), with
    bounded concurrency, polling while an evaluation runs (one poll helper)."""

    def __init__(
        self, source: ResultsSource, options: FetchOptions, *, clock: Callable[[], float]
    ) -> None:
        self._source = source
        self._options = options
        self._clock = poll_clock(clock)
        self._limit = asyncio.Semaphore(max(1, options.concurrency))
        self._memo = _Memo()
        self._log = structlog.get_logger("gate.fetch")

    @property
    def deadline(self) -> float | None:
        """The clock time the run must end by (None: no limit)."""
        return self._options.deadline

    def now(self) -> float:
        """The fetcher's clock."""
        return self._clock()

    def cancel(self) -> None:
        """Stop every fetch of the run still going (the run is over)."""
        self._memo.cancel()

    def let_go(self, eval_ids: Iterable[str] = (), lists: Iterable[EvalQuery] = ()) -> None:
        """Stop the fetches (results of `eval_ids`, `lists`) that only the trend asked for, as
        it no longer waits for them: they free their connections at once. Any other use of
        them asks afresh."""
        self._memo.let_go([*(("results", e) for e in eval_ids), *(("list", q) for q in lists)])

    async def _poll(
        self, look: Callable[[], Awaitable[_T | _Waiting]], give_up: float | None = None
    ) -> _T:
        """`look()` until it finds what it looks for, sleeping `poll_interval` between looks
        (never past the end of the wait: `give_up`, a clock time, `wait` from now unless
        given); when the wait is over, the last look's error. Sleeps and the clock are
        `gate.sleeping`'s, so `sleepless()` skips the waits."""
        wait = self._options.wait
        started = self._clock()
        give_up = started + wait if give_up is None else give_up
        while True:
            found = await look()
            if not isinstance(found, _Waiting):
                return found
            remaining = give_up - self._clock()
            if remaining <= 0:
                raise found.gave_up(waited=self._clock() - started)
            waited = round(self._clock() - started, 1)
            self._log.info(found.event, **found.fields, waited=waited, wait=wait)
            await resolve_sleep()(min(self._options.poll_interval, remaining))

    # ------------------------------------------------------------------ results

    def results(
        self, eval_id: str, *, give_up: float | None = None, named: str | None = None
    ) -> asyncio.Future[EvalResults]:
        """The (shared) fetch of one evaluation's results. `give_up` (a clock time) ends the
        wait earlier than `wait` from now; `named` says how the user named it, for messages."""
        return self._memo.once(
            ("results", eval_id), lambda: self._fetch(eval_id, give_up=give_up, named=named)
        )

    def trend_results(self, eval_id: str) -> asyncio.Future[EvalResults]:
        """`results(eval_id)` for the trend: shared like any other, but a fetch the trend
        starts is its own until something else asks for it (`let_go` may stop it)."""
        return self._memo.once(("results", eval_id), lambda: self._fetch(eval_id), for_trend=True)

    async def _fetch(
        self, eval_id: str, *, give_up: float | None = None, named: str | None = None
    ) -> EvalResults:
        wait = self._options.wait
        what = f"the evaluation of {named} (eval {eval_id})" if named else f"evaluation {eval_id}"
        saw_done = False

        async def look() -> EvalResults | _Waiting:
            nonlocal saw_done
            while True:
                async with self._limit:
                    try:
                        data = await self._source.map_results(eval_id)
                    except NotReady:
                        pass
                    else:
                        self._log.debug("fetch.done", eval_id=eval_id)
                        return parse_map_results(data, eval_id)
                self._memo.forget(("info", eval_id))  # the status changes while we wait
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
                return _Waiting(
                    "fetch.waiting",
                    {"eval_id": eval_id, "status": status},
                    partial(StillRunning, eval_id, what=what, status=status, wait=wait),
                )

        return await self._poll(look, give_up)

    # ------------------------------------------------------------------ lists

    def listing(
        self, query: EvalQuery, *, for_trend: bool = False
    ) -> asyncio.Future[list[EvalInfo]]:
        """The (shared, cached for the run) list `query` asks for (each eval once).
        `for_trend`: the trend asks (a list it starts is its own, as in `trend_results`)."""
        return self._memo.once(("list", query), lambda: self._list(query), for_trend=for_trend)

    async def _list(self, query: EvalQuery) -> list[EvalInfo]:
        async with self._limit:
            return once_each(await self._source.list_evals(query))

    async def resolve(self, by: str, ref: str) -> tuple[EvalInfo, float]:
        """The newest evaluation of model (or dataset version) `ref`, waiting for one to
        appear; with the clock time the wait for it to be done must end by (the same budget)."""
        wait = self._options.wait
        give_up = self._clock() + wait
        query = EvalQuery.of(by, ref)
        looked: list[asyncio.Future[list[EvalInfo]]] = []

        async def look() -> EvalInfo | _Waiting:
            if looked:  # look afresh (other waiters share the new look)
                self._memo.forget(("list", query), looked.pop())
            listed = self.listing(query)
            looked.append(listed)
            found = newest(e for e in await listed if e.is_of(by, ref))
            if found is None:
                return _Waiting(
                    "fetch.waiting_for_eval",
                    {"by": by, "ref": ref},
                    partial(NoEvalAppeared, by, ref, wait=wait),
                )
            self._log.info("fetch.resolved", by=by, ref=ref, eval_id=found.eval_id)
            self.remember(found)
            return found

        return await self._poll(look, give_up), give_up

    # ------------------------------------------------------------------ info

    def info(self, eval_id: str) -> asyncio.Future[EvalInfo]:
        """The (shared) fetch of an eval's info: its status, project, version, model."""
        return self._memo.once(("info", eval_id), lambda: self._info(eval_id))

    async def _info(self, eval_id: str) -> EvalInfo:
        async with self._limit:
            return await self._source.eval_info(eval_id)

    def remember(self, info: EvalInfo) -> None:
        """Keep a listed eval's info, so `info(eval_id)` needs no request for it."""
        self._memo.put(("info", info.eval_id), info)

    def known_info(self, eval_id: str) -> EvalInfo | None:
        """An eval's info when this run already has it (never a request)."""
        found: EvalInfo | None = self._memo.known(("info", eval_id))
        return found

    def has_info(self, eval_id: str) -> bool:
        """Whether the source can say what an eval is (model, dataset version, created): the
        API can; saved results files cannot (the eval's info is then unknown)."""
        return self._source.has_info(eval_id)

    async def info_or_none(self, eval_id: str, *, within: float | None = None) -> EvalInfo | None:
        """An eval's info for the report's provenance: the run's (shared) `info` when the
        source has it, asked concurrently with its results; None from saved files, when
        Roboflow could not answer, or when it did not within `within` seconds (the fetch goes
        on for whoever shares it). Provenance is informational: it never decides a verdict (a
        missing key, an auth or a not-found error fails the map-results anyway)."""
        if not self.has_info(eval_id):
            return self.known_info(eval_id)
        asked = self.info(eval_id)
        if within is not None:
            done, _ = await asyncio.wait([asked], timeout=max(0.0, within))
            if not done:
                self._log.warning("fetch.info_late", eval_id=eval_id, within=round(within, 3))
                return None
        try:
            return await asked
        except ResultsUnavailable as error:
            self._log.warning("fetch.info_unavailable", eval_id=eval_id, error=str(error))
            return None

    # ------------------------------------------------------------------ panels

    def confusion(self, eval_id: str, split: str) -> asyncio.Future[ConfusionMatrix]:
        """The (shared, cached for the run) confusion matrix of one eval's split. Raises
        PanelUnavailable when Roboflow has none (409) or the run is offline."""
        return self._memo.once(
            ("confusion", eval_id, split), lambda: self._confusion(eval_id, split)
        )

    def class_performance(self, eval_id: str, split: str) -> asyncio.Future[ClassPerformance]:
        """The (shared, cached for the run) performance-by-class of one eval's split."""
        return self._memo.once(
            ("performance", eval_id, split), lambda: self._performance(eval_id, split)
        )

    def image_counts(self, eval_id: str, split: str) -> asyncio.Future[SplitImages]:
        """The (shared, cached for the run) per-image tp/fp/fn counts of one eval's split, in
        the API's order: the first page says how many images there are, the other pages are
        then asked concurrently (within the concurrency limit) and stitched in offset order."""
        return self._memo.once(
            ("images", eval_id, split), lambda: self._image_counts(eval_id, split)
        )

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
