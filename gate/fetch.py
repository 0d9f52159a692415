"""Getting every evaluation's results (and its baseline's) concurrently, waiting while they run.

The results-source port: `ResultsSource` and the errors it raises (`NotReady`, while an
evaluation has no results yet) are defined here, and it speaks the core's `EvalInfo` and
`EvalQuery`; adapters (the Roboflow client, saved files: `gate.saved_results`) produce them.
The source is passed in, so this module does no I/O of its own beyond awaiting it, and
imports no adapter.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from gate.core.errors import GateError, ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery, newest, once_each
from gate.core.metrics import TaskType
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
    Malformed,
    MalformedResults,
    Missing,
    parse_map_results,
)

__all__ = [
    "MIN_POLL_INTERVAL",
    "Baseline",
    "FetchOptions",
    "Fetcher",
    "NotReady",
    "PanelUnavailable",
    "ResultsSource",
    "Unscored",
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


@dataclass(frozen=True, slots=True)
class Baseline:
    """The baseline chosen for one evaluation, or why there is none."""

    eval_id: str | None
    note: str | None = None  # why there is none
    chosen: str | None = None  # how it was chosen, when auto or champion chose it
    same_version: bool | None = None  # measured on the candidate's dataset version (None: unknown)
    # A baseline was asked for but cannot be known (the champion, when a rival's value cannot
    # be had): the regression checks follow `if_missing`, with `note` saying why.
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class Unscored:
    """Why an eval's headline value cannot be had (its map-results failed, or the value is
    null, NaN, out of range or not a number)."""

    why: str


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
        self._lists: dict[tuple[str, str], asyncio.Future[list[EvalInfo]]] = {}
        # Fetches only the trend asked for (results by eval id, lists by filter): when it
        # stops waiting for them, `let_go` stops them. Another use of one takes it off.
        self._trend_results: set[str] = set()
        self._trend_lists: set[tuple[str, str]] = set()
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
        self, by: str, ref: str, *, for_trend: bool = False
    ) -> asyncio.Future[list[EvalInfo]]:
        """The (shared, cached for the run) list of the evals of one model or version.
        `for_trend`: the trend asks (a list it starts is its own, as in `trend_results`)."""
        key = (by, ref)
        if not for_trend:
            self._trend_lists.discard(key)
        if key not in self._lists:
            if for_trend:
                self._trend_lists.add(key)
            self._lists[key] = asyncio.ensure_future(self._list(by, ref))
        return self._lists[key]

    def let_go(self, eval_ids: Iterable[str] = (), lists: Iterable[tuple[str, str]] = ()) -> None:
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

    async def _list(self, by: str, ref: str) -> list[EvalInfo]:
        async with self._limit:
            return once_each(await self._source.list_evals(EvalQuery.of(by, ref)))

    async def resolve(self, by: str, ref: str) -> tuple[EvalInfo, float]:
        """The newest evaluation of model (or dataset version) `ref`, waiting for one to
        appear; with the clock time the wait for it to be done must end by (the same budget)."""
        wait = self._options.wait
        started = self._clock()
        give_up = started + wait
        while True:
            listed = self.listing(by, ref)
            evals = await listed
            found = newest(e for e in evals if e.is_of(by, ref))
            if found is not None:
                self._log.info("fetch.resolved", by=by, ref=ref, eval_id=found.eval_id)
                self._remember(found)
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
            if self._lists.get((by, ref)) is listed:
                del self._lists[(by, ref)]  # look afresh (other waiters share the new look)

    async def newest_done(
        self, by: str, ref: str, *, other_than: EvalInfo | str
    ) -> EvalInfo | None:
        """The newest `done` evaluation of model (or dataset version) `ref` other than
        `other_than` (the candidate: its id, or what is known of it, and then none of another
        project), from the run's shared list; None when there is none (no waiting: a baseline
        is what is already done)."""
        evals = await self.listing(by, ref)
        candidate = other_than if isinstance(other_than, EvalInfo) else None
        other_id = candidate.eval_id if candidate is not None else other_than
        found = newest(
            e
            for e in evals
            if e.is_of(by, ref)
            and e.status == "done"
            and e.eval_id != other_id
            and not (candidate is not None and e.of_another_project(candidate))
        )
        if found is not None:
            self._remember(found)
        return found

    def _remember(self, info: EvalInfo) -> None:
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

    async def about(self, eval_id: str) -> EvalInfo | None:
        """An eval's metadata for the report's provenance: the run's (shared) `info` when the
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

    async def auto_baseline(self, eval_id: str, *, require_same_version: bool = False) -> Baseline:
        """The newest `done` evaluation on the candidate's dataset version, created before it
        and not of its model; else (unless `require_same_version`) the newest earlier `done`
        evaluation of its project, flagged as measured on another dataset version."""
        info = await self.info(eval_id)
        if info.created_at is None:
            raise ResultsUnavailable(
                f"baseline: auto for eval {eval_id}: Roboflow did not say when it was created; "
                "set baseline: to an eval id instead",
                eval_id=eval_id,
            )
        version = info.version_id
        if version is not None:
            listed = await self.listing("version", version)
            same = [
                e
                for e in listed
                if _done_rival(e, info)
                and e.version_id in (None, version)
                and e.created_at is not None
                and e.created_at < info.created_at
                and (e.same_project(info) if require_same_version else True)
            ]
            if same:
                # One known to be of the candidate's project first: only it shares the test set.
                chosen = max(same, key=lambda e: (e.same_project(info), _created(e)))
                shared = chosen.same_project(info)
                self._log.info("fetch.baseline", eval_id=eval_id, baseline=chosen.eval_id)
                return Baseline(
                    chosen.eval_id,
                    chosen=(
                        "auto: the newest earlier done evaluation of another model "
                        f"on dataset version {version}" + ("" if shared else _UNKNOWN_PROJECT)
                    ),
                    same_version=shared,
                )
        if require_same_version:
            where = f"dataset version '{version}'" if version else "its dataset version (unknown)"
            note = (
                "baseline: auto found no earlier done evaluation of another model on "
                f"{where}, and require_same_version is set"
            )
            self._log.warning("fetch.no_baseline", eval_id=eval_id, version=version)
            return Baseline(None, note)
        if not info.project:
            raise ResultsUnavailable(
                f"baseline: auto for eval {eval_id}: Roboflow did not say which project it "
                "belongs to; set baseline: to an eval id instead",
                eval_id=eval_id,
            )
        async with self._limit:
            listing = once_each(
                await self._source.list_evals(EvalQuery(project=info.project, status="done"))
            )
        earlier = [
            (e.created_at, e)
            for e in listing
            if e.eval_id != eval_id
            and e.status == "done"
            and e.created_at is not None
            and e.created_at < info.created_at
            and (e.project in (None, info.project))
        ]
        if not earlier:
            note = f"baseline: auto found no earlier done evaluation in project '{info.project}'"
            self._log.warning("fetch.no_baseline", eval_id=eval_id, project=info.project)
            return Baseline(None, note)
        chosen = max(earlier, key=lambda pair: pair[0])[1]
        self._log.info("fetch.baseline", eval_id=eval_id, baseline=chosen.eval_id)
        if version is None or chosen.version_id is None:
            same_version = None
            how = f"auto: the newest earlier done evaluation in project {info.project}"
        else:
            same_version = chosen.version_id == version
            how = (
                f"auto: the newest earlier done evaluation in project {info.project} "
                f"(none of another model on dataset version {version})"
            )
        return Baseline(chosen.eval_id, chosen=how, same_version=same_version)

    async def champion(self, eval_id: str, task_type: Awaitable[TaskType]) -> Baseline:
        """The best `done` evaluation of another model on the candidate's dataset version by
        the task's headline metric (mAP@50:95 on test, or mIoU on test): the eval's summary
        when it has the metric, else its map-results. The version's list is asked while the
        candidate's results (which say its task) are still on their way.

        The champion is the best of all of them or it is unknown: when any rival's value
        cannot be had (its map-results fail) or is not a usable fraction (null, NaN, out of
        range, a string), there is no baseline and the note names the rivals and why, with
        `unknown` set (the regression checks follow `if_missing`): never a weaker champion."""
        info = await self.info(eval_id)
        version = info.version_id
        if version is None:
            raise ResultsUnavailable(
                f"baseline: champion for eval {eval_id}: Roboflow did not say which dataset "
                "version it was measured on; set baseline: to an eval id instead",
                eval_id=eval_id,
            )
        listing = self.listing("version", version)
        task, listed = await asyncio.gather(task_type, listing)
        rivals = [e for e in listed if _done_rival(e, info) and e.version_id in (None, version)]
        metric = HEADLINE[task]
        scores = await asyncio.gather(*(self._score(e, task) for e in rivals))
        unknown = [
            (e.eval_id, score.why)
            for score, e in zip(scores, rivals, strict=True)
            if isinstance(score, Unscored)
        ]
        if unknown:
            self._log.warning(
                "fetch.champion_unknown",
                eval_id=eval_id,
                version=version,
                rivals=dict(unknown),
            )
            return Baseline(None, _champion_unknown(version, metric, unknown), unknown=True)
        scored = [
            (score, e) for score, e in zip(scores, rivals, strict=True) if isinstance(score, float)
        ]
        if not scored:
            note = (
                "baseline: champion found no done evaluation of another model on dataset "
                f"version '{version}'"
            )
            self._log.warning("fetch.no_baseline", eval_id=eval_id, version=version)
            return Baseline(None, note)
        score, chosen = max(scored, key=lambda pair: (pair[0], _created(pair[1])))
        self._log.info("fetch.champion", eval_id=eval_id, baseline=chosen.eval_id, score=score)
        return Baseline(
            chosen.eval_id,
            chosen=(
                f"champion: the best done evaluation of another model on dataset version "
                f"{version} by {metric.label} on test ({score:.4f})"
                + ("" if chosen.same_project(info) else _UNKNOWN_PROJECT)
            ),
            same_version=chosen.same_project(info),
        )

    async def headline(self, info: EvalInfo, task_type: TaskType) -> float | None:
        """An eval's headline metric on test (its summary's, else its shared map-results',
        fetched as the trend's own: `trend_results`), or None when it has none: the report's
        trend charts it."""
        score = await self._score(info, task_type, for_trend=True)
        return score if isinstance(score, float) else None

    async def _score(
        self, info: EvalInfo, task_type: TaskType, *, for_trend: bool = False
    ) -> float | Unscored | None:
        """An eval's headline metric on test; `Unscored` (why) when it cannot be had or is
        not a usable fraction; None when the eval is of another task (no rival)."""
        metric = HEADLINE[task_type]
        if metric.summary_key is not None and info.summary is not None:
            value = info.summary.get(metric.summary_key)
            if isinstance(value, int | float) and _fraction(value):
                return float(value)
        try:
            if for_trend:  # the trend may stop waiting: never cancel a fetch others share
                results = await asyncio.shield(self.trend_results(info.eval_id))
            else:
                results = await self.results(info.eval_id)
        except GateError as error:
            return Unscored(_short_why(error, info.eval_id))
        if results.task_type is not task_type:
            return None
        value = results.value(metric.name, "test")
        if isinstance(value, Missing | Malformed):
            return Unscored(value.reason)
        return float(value)

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


@dataclass(frozen=True, slots=True)
class Headline:
    """The metric `baseline: champion` ranks by: its map-results name, its summary key."""

    name: str
    label: str
    summary_key: str | None  # None: the summary does not carry it (summary.mAP is mAP@0.5)


HEADLINE: Mapping[TaskType, Headline] = {
    TaskType.DETECTION: Headline("map50_95", "mAP@50:95", None),
    TaskType.SEGMENTATION: Headline("miou", "mIoU", "mIoU"),
}


MAX_NAMED_RIVALS = 3  # rivals named in an unknown champion's note (the rest counted)


def _champion_unknown(version: str, metric: Headline, unknown: list[tuple[str, str]]) -> str:
    """Why the champion is unknown: the rivals whose value cannot be had, each with why,
    named first (a report shortens long messages)."""
    named = ", ".join(f"eval {rival} ({why})" for rival, why in unknown[:MAX_NAMED_RIVALS])
    more = len(unknown) - MAX_NAMED_RIVALS
    return (
        f"baseline: champion is unknown: {named}"
        + (f" and {more} more" if more > 0 else "")
        + f": no usable {metric.label} on test, so the best done evaluation of another model "
        f"on dataset version '{version}' is not known; re-run the gate when Roboflow answers, "
        "or name the baseline's id"
    )


def _short_why(error: GateError, eval_id: str) -> str:
    """Why an eval's map-results cannot be had, in short: the HTTP status when the answer
    had one, else the message's first clause (without the eval it is about)."""
    status = getattr(error, "status", None)
    if isinstance(status, int) and status >= 400:
        return f"HTTP {status}"
    text = str(error).split("; ", 1)[0]
    for prefix in (f"map-results for eval {eval_id}: ", f"evaluation {eval_id} "):
        text = text.removeprefix(prefix)
    return text


_UNKNOWN_PROJECT = " (a project not known to be the candidate's: not known to share its test set)"


def _done_rival(info: EvalInfo, candidate: EvalInfo) -> bool:
    """A done evaluation other than the candidate, not of the candidate's model, and not of
    another project (a version id may be another project's too)."""
    return (
        info.eval_id != candidate.eval_id
        and info.status == "done"
        and (candidate.model_id is None or info.model_id != candidate.model_id)
        and not info.of_another_project(candidate)
    )


def _created(info: EvalInfo) -> datetime:
    return info.created_at or datetime.min.replace(tzinfo=UTC)


def _fraction(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )
