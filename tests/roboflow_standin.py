"""A stand-in for the Roboflow model-evals REST API, for tests and benchmarks.

It is a real aiohttp server (bind it to 127.0.0.1), modelled on the public docs (see
/work/shared/reference): the GET endpoints a gate uses (list, info, map-results and the
confusion-matrix, performance-by-class and image-predictions panels), Bearer or `?api_key=` auth,
JSON errors `{"error": code, "message": ...}`, newest-first listing. Tests add evals,
flip their status, and script misbehaviour (429 with Retry-After, 5xx, HTML pages,
truncated bodies, hung requests, error text echoing the key the request sent: `ECHO` in a
scripted body) that is served before the normal behaviour. Every
request is recorded in `standin.requests`.

    standin = RoboflowStandIn()
    standin.add_eval("abc", map_results=detection_results({"car": 0.9}))
    standin.script("map-results", [Scripted(503), Scripted(429, headers={"Retry-After": "2"})])
    server = await aiohttp_server(standin.app())

Panels: `add_eval(..., confusion={split: {"classes", "matrix"}}, performance={split: [entries]},
images={split: [{"imageId", "tp", "fp", "fn"}]})`, or `generated_panels(...)` for made-up ones.
A done eval without a panel's data for a split answers 409 model_eval_not_done, as Roboflow does.

Standalone (benchmarks): `python -m tests.roboflow_standin --port 0 --latency 0.2 --evals 32`
prints the base URL on stdout and serves until killed; `--images N` gives every eval panels
with N images per split.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.standin_base import Hangs, credential_of, fault_body

DETECTION = "object-detection-like"
SEGMENTATION = "semantic-segmentation"
SPLITS = ("test", "valid", "train")
STATUSES = ("running", "done", "failed")
PANELS = ("confusion-matrix", "performance-by-class", "image-predictions")
ENDPOINTS = ("list", "info", "map-results", *PANELS)
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 200
DEFAULT_IMAGE_LIMIT = 200
MAX_IMAGE_LIMIT = 1000
DEFAULT_CONFIDENCE = 20  # percent: the eval's canonical threshold

_DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Missing or invalid API key"),
    403: ("forbidden", "This API key lacks the model-eval:read scope"),
    404: ("model_eval_not_found", "Model evaluation not found"),
    409: ("model_eval_not_done", "Model evaluation is not done"),
    429: ("rate_limited", "Too many requests"),
    500: ("internal", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}

HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Scripted:
    """One scripted response, served (and consumed) before the normal behaviour.

    body: a dict/list is sent as JSON; str/bytes are sent as they are (Content-Type
    text/html when they start with "<", else application/json). None means: for a 2xx
    status, the body the normal behaviour would send (so `Scripted(delay=1)` is a slow
    normal answer and `Scripted(truncate=True)` a cut normal answer); for any other
    status, a JSON error `{"error": code, "message": ...}` typical of that status.
    headers: extra response headers (e.g. Retry-After; may override Content-Type).
    delay: seconds to wait before answering. truncate: declare the full Content-Length,
    send half the body, then close the connection. hang: never answer (until the client
    disconnects, the server shuts down, or HANG_MAX_SECONDS pass). chunked: send the body
    with chunked transfer encoding (no Content-Length), in 16 KiB pieces.
    """

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False
    hang: bool = False
    chunked: bool = False


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What the stand-in saw of one request."""

    method: str
    path: str  # decoded path, no query
    raw_path: str  # as sent on the wire, with the query string
    query_string: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    endpoint: str  # "list" | "info" | "map-results" | one of PANELS | "other"
    workspace: str | None
    eval_id: str | None


@dataclass(slots=True)
class StandInEval:
    """One eval held by the stand-in (mutable: tests flip `status`)."""

    eval_id: str
    status: str
    project: str | None
    created_at: Any  # usually an ISO string; anything JSON to mimic odd servers
    map_results: dict[str, Any]
    version_id: str | None = None
    model_id: str | None = None
    data_missing: bool = False  # done, but map-results answers 409 (data missing)
    legacy: bool = False  # answer with the older servers' field names, `id` and `projectId`
    appears_at: float = 0.0  # time.monotonic() from which the eval exists (evals that run late)
    # Panels, per split (a split left out answers 409, as a done eval whose data is missing).
    confusion: dict[str, dict[str, Any]] = field(default_factory=dict)
    performance: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    images: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def visible(self) -> bool:
        return time.monotonic() >= self.appears_at

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            ("id" if self.legacy else "evalId"): self.eval_id,
            "status": self.status,
            ("projectId" if self.legacy else "project"): self.project,
            "versionId": self.version_id,
            "modelId": self.model_id,
            "createdAt": self.created_at,
        }
        if self.status == "done":
            data["summary"] = summary_of(self.map_results)
        return data


# --------------------------------------------------------------------------- payload builders


def _clamp(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 6)


def _triple(map50: float | None) -> dict[str, float | None]:
    if map50 is None:
        return {"map50": None, "map50_95": None, "map75": None}
    return {
        "map50": _clamp(map50),
        "map50_95": _clamp(map50 * 0.8),
        "map75": _clamp(map50 * 0.95),
    }


def _sizes(sizes: Mapping[str, float | None]) -> dict[str, Any]:
    return {name: (None if value is None else _triple(value)) for name, value in sizes.items()}


def detection_results(
    classes: Mapping[str, float | None] | Sequence[str],
    *,
    map50: float = 0.9,
    map50_95: float | None = None,
    map75: float | None = None,
    splits: Sequence[str] = SPLITS,
    sizes: Mapping[str, float | None] | None = None,
    task_type: str = DETECTION,
) -> dict[str, Any]:
    """A map-results payload for object detection / instance segmentation.

    `classes` maps class name -> that class's map50 (None: a class with no ground truth,
    all its metrics null); a plain list gives every class `map50`. map50_95/map75 default
    to 0.8x/0.95x map50 (per class likewise). `sizes` maps object-size bucket -> map50 or
    None (the default has small/medium values and a null `large`). Every split in `splits`
    gets the same numbers; mutate the returned dict for anything finer.
    """
    per_class_values: dict[str, float | None] = (
        dict(classes) if isinstance(classes, Mapping) else dict.fromkeys(classes, map50)
    )
    bucket_values = (
        dict(sizes)
        if sizes is not None
        else {"small": map50 - 0.05, "medium": map50, "large": None}
    )
    split_top = _triple(map50)
    if map50_95 is not None:
        split_top["map50_95"] = map50_95
    if map75 is not None:
        split_top["map75"] = map75

    def split() -> dict[str, Any]:
        per_class: dict[str, Any] = {}
        for name, value in per_class_values.items():
            entry: dict[str, Any] = _triple(value)
            entry["byObjectSize"] = _sizes(
                dict.fromkeys(bucket_values, None)
                if value is None
                else {k: (None if v is None else value) for k, v in bucket_values.items()}
            )
            per_class[name] = entry
        return {**split_top, "byObjectSize": _sizes(bucket_values), "perClass": per_class}

    return {"taskType": task_type, "splits": {name: split() for name in splits}}


def segmentation_results(
    classes: Mapping[str, float | None] | Sequence[str],
    *,
    miou: float = 0.8,
    precision: float = 0.9,
    recall: float = 0.85,
    f1: float | None = None,
    splits: Sequence[str] = SPLITS,
    optimal_threshold: float = 0.0,
) -> dict[str, Any]:
    """A map-results payload for semantic segmentation.

    `classes` maps class name -> IoU (a list gives every class `miou`). perClass is a LIST
    of {classID, className, iou, precision, recall, f1, optimalThreshold}; class ids start
    at 1 (0 is the excluded background). f1 defaults to the harmonic mean of precision
    and recall.
    """
    per_class_values: dict[str, float | None] = (
        dict(classes) if isinstance(classes, Mapping) else dict.fromkeys(classes, miou)
    )
    f1_value = f1 if f1 is not None else _harmonic(precision, recall)

    def split() -> dict[str, Any]:
        return {
            "miou": miou,
            "precision": precision,
            "recall": recall,
            "f1": f1_value,
            "perClass": [
                {
                    "classID": index,
                    "className": name,
                    "iou": iou,
                    "precision": None if iou is None else precision,
                    "recall": None if iou is None else recall,
                    "f1": None if iou is None else f1_value,
                    "optimalThreshold": optimal_threshold,
                }
                for index, (name, iou) in enumerate(per_class_values.items(), start=1)
            ],
        }

    return {"taskType": SEGMENTATION, "splits": {name: split() for name in splits}}


def _harmonic(precision: float, recall: float) -> float:
    total = precision + recall
    return round(2 * precision * recall / total, 6) if total > 0 else 0.0


def summary_of(map_results: Mapping[str, Any]) -> dict[str, Any]:
    """The `summary` an eval shows when done: {mAP (mAP@0.5), mIoU, precision, recall}."""
    splits = map_results.get("splits")
    chosen: Mapping[str, Any] = {}
    if isinstance(splits, Mapping):
        for name in SPLITS:
            if isinstance(splits.get(name), Mapping):
                chosen = splits[name]
                break
    return {
        "mAP": chosen.get("map50"),
        "mIoU": chosen.get("miou"),
        "precision": chosen.get("precision"),
        "recall": chosen.get("recall"),
    }


def generated_panels(
    classes: Sequence[str],
    *,
    images: int,
    seed: int = 0,
    splits: Sequence[str] = SPLITS,
) -> dict[str, Any]:
    """Made-up but consistent panels: `images` images per split, each with small random
    tp/fp/fn counts; the confusion matrix puts each image's tp on the diagonal of a random
    class, its fp in the background row and its fn in the background column; performance by
    class follows from the matrix. Returns the keyword arguments of `add_eval`."""
    rng = random.Random(seed)
    size = len(classes) + 1
    confusion: dict[str, dict[str, Any]] = {}
    performance: dict[str, list[dict[str, Any]]] = {}
    per_split: dict[str, list[dict[str, Any]]] = {}
    for split in splits:
        matrix = [[0] * size for _ in range(size)]
        listed = []
        for index in range(images):
            tp, fp, fn = rng.randint(0, 4), rng.randint(0, 2), rng.randint(0, 2)
            cls = rng.randrange(len(classes)) if classes else 0
            if classes:
                matrix[cls][cls] += tp
                matrix[size - 1][cls] += fp
                matrix[cls][size - 1] += fn
            listed.append({"imageId": f"{split}-{index:06d}", "tp": tp, "fp": fp, "fn": fn})
        per_split[split] = listed
        confusion[split] = {"classes": [*classes, "background"], "matrix": matrix}
        entries = []
        for k, name in enumerate(classes):
            tp = matrix[k][k]
            predicted = sum(row[k] for row in matrix)
            actual = sum(matrix[k])
            precision = tp / predicted if predicted else None
            recall = tp / actual if actual else None
            f1 = (
                _harmonic(precision, recall)
                if precision is not None and recall is not None
                else None
            )
            entries.append(
                {
                    "className": name,
                    "map50": None if actual == 0 else round(rng.uniform(0.5, 0.99), 4),
                    "map50_95": None if actual == 0 else round(rng.uniform(0.3, 0.8), 4),
                    "map75": None if actual == 0 else round(rng.uniform(0.4, 0.9), 4),
                    "precision": None if precision is None else round(precision, 6),
                    "recall": None if recall is None else round(recall, 6),
                    "f1": f1,
                    "optimalThreshold": 0.35,
                }
            )
        performance[split] = entries
    return {"confusion": confusion, "performance": performance, "images": per_split}


def _image_json(entry: Mapping[str, Any], split: str) -> dict[str, Any]:
    tp, fp, fn = entry["tp"], entry["fp"], entry["fn"]
    numeric = all(isinstance(v, int) and not isinstance(v, bool) for v in (tp, fp, fn))
    return {
        "imageId": entry["imageId"],
        "imageName": f"{entry['imageId']}.jpg",
        "split": split,
        "augmentations": [],
        "cluster": {"id": 0, "embedding2D": [0.0, 0.0]},
        "stats": {
            "truePositives": tp,
            "falsePositives": fp,
            "falseNegatives": fn,
            "precision": (tp / (tp + fp) if tp + fp else None) if numeric else None,
            "recall": (tp / (tp + fn) if tp + fn else None) if numeric else None,
        },
    }


# --------------------------------------------------------------------------- the server


def _error_body(status: int, code: str | None = None, message: str | None = None) -> bytes:
    default_code, default_message = _DEFAULT_ERRORS.get(status, ("error", f"HTTP {status}"))
    return json.dumps(
        {"error": code or default_code, "message": message or default_message}
    ).encode()


def _sort_key(created_at: Any) -> float:
    if isinstance(created_at, (int, float)) and not isinstance(created_at, bool):
        return float(created_at) / (1000.0 if created_at > 1e11 else 1.0)
    if isinstance(created_at, str):
        try:
            parsed = datetime.fromisoformat(created_at)
        except ValueError:
            return float("-inf")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return float("-inf")


class RoboflowStandIn(Hangs):
    """State and behaviour of the stand-in API; `app()` wraps it in an aiohttp application."""

    def __init__(
        self, api_key: str = "test-key", workspace: str = "ws", latency: float = 0.0
    ) -> None:
        self.api_key = api_key
        self.workspace = workspace
        self.latency = latency
        self.evals: dict[str, StandInEval] = {}
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0  # requests being answered now
        self.max_in_flight = 0  # the most answered at once
        self._scripts: dict[tuple[str, str | None], deque[Scripted]] = {}
        self._release: asyncio.Event | None = None

    # ---------------------------------------------------------------- test controls

    def add_eval(
        self,
        eval_id: str,
        *,
        status: str = "done",
        project: str | None = "proj",
        created_at: Any = "2026-01-01T00:00:00Z",
        map_results: dict[str, Any] | None = None,
        version_id: str | None = None,
        model_id: str | None = None,
        data_missing: bool = False,
        legacy: bool = False,
        appears_after: float = 0.0,
        confusion: Mapping[str, dict[str, Any]] | None = None,
        performance: Mapping[str, list[dict[str, Any]]] | None = None,
        images: Mapping[str, list[dict[str, Any]]] | None = None,
    ) -> StandInEval:
        """Add (or replace) an eval. map_results None: a small two-class detection payload.
        `legacy`: its JSON says `id` and `projectId`, as older servers did. `appears_after`:
        seconds from now before the eval exists (listed, or found by id), as when Roboflow
        starts evaluating a model some time after it was uploaded. The panels, per split:
        `confusion` {"classes", "matrix"} (and "confidenceThreshold" if not 0.2),
        `performance` a list of class entries, `images` a list of {imageId, tp, fp, fn}
        (each served as the documented image object); a split without data answers 409."""
        record = StandInEval(
            eval_id=eval_id,
            status=status,
            project=project,
            created_at=created_at,
            map_results=(
                map_results
                if map_results is not None
                else detection_results({"car": 0.91, "person": 0.84})
            ),
            version_id=version_id,
            model_id=model_id,
            data_missing=data_missing,
            legacy=legacy,
            appears_at=time.monotonic() + appears_after if appears_after > 0 else 0.0,
            confusion=dict(confusion or {}),
            performance=dict(performance or {}),
            images=dict(images or {}),
        )
        self.evals[eval_id] = record
        return record

    def set_status(self, eval_id: str, status: str) -> None:
        """Flip an eval's status (e.g. running -> done) mid-test."""
        self.evals[eval_id].status = status

    def script(
        self, endpoint: str, responses: Iterable[Scripted], *, eval_id: str | None = None
    ) -> None:
        """Queue responses for `endpoint` (one of ENDPOINTS, or "*" for any).

        With `eval_id`, only requests for that eval use the queue. Queues are consumed in
        order, most specific first: (endpoint, eval_id), (endpoint, any), ("*", any).
        Scripted responses are served before authentication and all normal checks.
        """
        if endpoint not in (*ENDPOINTS, "*"):
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {ENDPOINTS} or '*'")
        self._scripts.setdefault((endpoint, eval_id), deque()).extend(responses)

    def clear_scripts(self) -> None:
        """Forget every scripted response not served yet (and the requests seen so far)."""
        self._scripts.clear()
        self.requests.clear()

    def pending_scripts(self) -> int:
        """How many scripted responses have not been served yet."""
        return sum(len(queue) for queue in self._scripts.values())

    def count(self, endpoint: str | None = None, eval_id: str | None = None) -> int:
        """How many recorded requests hit `endpoint` (and `eval_id`), or all of them."""
        return sum(
            1
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint)
            and (eval_id is None or r.eval_id == eval_id)
        )

    def app(self) -> web.Application:
        """A fresh aiohttp application serving this stand-in's state."""
        app = web.Application()
        app.router.add_get("/{workspace}/model-evals", self._handle_list)
        app.router.add_get("/{workspace}/model-evals/{eval_id}", self._handle_info)
        app.router.add_get("/{workspace}/model-evals/{eval_id}/map-results", self._handle_map)
        for panel in PANELS:
            app.router.add_get(
                f"/{{workspace}}/model-evals/{{eval_id}}/{panel}", self._panel_handler(panel)
            )
        app.router.add_route("*", "/{tail:.*}", self._handle_other)
        app.on_shutdown.append(self._on_shutdown)
        return app

    # ---------------------------------------------------------------- plumbing

    def _record(self, request: web.Request, endpoint: str) -> RecordedRequest:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            raw_path=request.raw_path,
            query_string=request.query_string,
            query=tuple(request.query.items()),
            headers=dict(request.headers),
            endpoint=endpoint,
            workspace=request.match_info.get("workspace"),
            eval_id=request.match_info.get("eval_id"),
        )
        self.requests.append(record)
        return record

    def _next_script(self, endpoint: str, eval_id: str | None) -> Scripted | None:
        for key in ((endpoint, eval_id), (endpoint, None), ("*", eval_id), ("*", None)):
            queue = self._scripts.get(key)
            if queue:
                return queue.popleft()
        return None

    def _authorised(self, request: web.Request) -> bool:
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return True
        return request.query.get("api_key") == self.api_key

    async def _dispatch(
        self, request: web.Request, endpoint: str, normal: Any
    ) -> web.StreamResponse:
        record = self._record(request, endpoint)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            scripted = self._next_script(endpoint, record.eval_id)
            if scripted is None:
                status, body, headers = self._normal(request, endpoint, normal)
                return web.Response(status=status, body=body, headers=headers)
            return await self._serve_script(request, scripted, endpoint, normal)
        finally:
            self.in_flight -= 1

    def _normal(
        self, request: web.Request, endpoint: str, normal: Any
    ) -> tuple[int, bytes, dict[str, str]]:
        json_type = {"Content-Type": "application/json"}
        if not self._authorised(request):
            return 401, _error_body(401), json_type
        status, payload = normal(request)
        return status, json.dumps(payload).encode(), json_type

    async def _serve_script(
        self, request: web.Request, scripted: Scripted, endpoint: str, normal: Any
    ) -> web.StreamResponse:
        if scripted.delay > 0:
            await asyncio.sleep(scripted.delay)
        if scripted.hang:
            await self._hang(request)
            return web.Response(status=504, body=_error_body(504))
        status = scripted.status
        headers: dict[str, str] = {}
        body: bytes
        if scripted.body is None:
            if 200 <= status < 300:
                status, body, headers = self._normal(request, endpoint, normal)
            else:
                body, headers = _error_body(status), {"Content-Type": "application/json"}
        else:
            body, kind = fault_body(scripted.body, echo=credential_of(request))
            headers = {"Content-Type": kind}
        headers.update(scripted.headers)
        if scripted.chunked:
            response = web.StreamResponse(status=status, headers=headers)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(body), 16 * 1024):
                await response.write(body[start : start + 16 * 1024])
            await response.write_eof()
            return response
        if not scripted.truncate:
            return web.Response(status=status, body=body, headers=headers)
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = max(len(body), 2)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        if request.transport is not None:
            request.transport.close()
        return response

    # ---------------------------------------------------------------- endpoints

    async def _handle_list(self, request: web.Request) -> web.StreamResponse:
        return await self._dispatch(request, "list", self._list)

    async def _handle_info(self, request: web.Request) -> web.StreamResponse:
        return await self._dispatch(request, "info", self._info)

    async def _handle_map(self, request: web.Request) -> web.StreamResponse:
        return await self._dispatch(request, "map-results", self._map_results)

    def _panel_handler(self, panel: str) -> Any:
        normal = {
            "confusion-matrix": self._confusion,
            "performance-by-class": self._performance,
            "image-predictions": self._image_predictions,
        }[panel]

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._dispatch(request, panel, normal)

        return handle

    async def _handle_other(self, request: web.Request) -> web.StreamResponse:
        self._record(request, "other")
        return web.Response(
            status=404,
            body=_error_body(404, "not_found", "No such route"),
            content_type="application/json",
        )

    def _find(self, request: web.Request) -> StandInEval | None:
        if request.match_info["workspace"] != self.workspace:
            return None
        found = self.evals.get(request.match_info["eval_id"])
        return found if found is not None and found.visible else None

    def _list(self, request: web.Request) -> tuple[int, Any]:
        if request.match_info["workspace"] != self.workspace:
            return 404, json.loads(_error_body(404, "workspace_not_found", "No such workspace"))
        query = request.query
        filters = [name for name in ("project", "version", "model") if name in query]
        if len(filters) > 1:
            return 400, json.loads(
                _error_body(
                    400, "invalid_filter_combination", "Use at most one of project, version, model"
                )
            )
        status = query.get("status")
        if status is not None and status not in STATUSES:
            return 400, json.loads(
                _error_body(400, "invalid_status", "status must be running, done or failed")
            )
        raw_limit = query.get("limit", str(DEFAULT_LIST_LIMIT))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
            return 400, json.loads(_error_body(400, "invalid_limit", "limit must be 1..200"))
        chosen = [
            e
            for e in self.evals.values()
            if e.visible
            and (status is None or e.status == status)
            and ("project" not in query or e.project == query["project"])
            and ("version" not in query or e.version_id == query["version"])
            and ("model" not in query or e.model_id == query["model"])
        ]
        chosen.sort(key=lambda e: _sort_key(e.created_at), reverse=True)
        return 200, {"evals": [e.as_json() for e in chosen[: int(raw_limit)]]}

    def _info(self, request: web.Request) -> tuple[int, Any]:
        found = self._find(request)
        if found is None:
            return 404, json.loads(_error_body(404))
        return 200, found.as_json()

    def _map_results(self, request: web.Request) -> tuple[int, Any]:
        found = self._find(request)
        if found is None:
            return 404, json.loads(_error_body(404))
        if found.status != "done" or found.data_missing:
            why = "is still running" if found.status == "running" else "has no map-results data"
            return 409, json.loads(_error_body(409, message=f"Model evaluation {why}"))
        return 200, found.map_results

    # ---------------------------------------------------------------- panels

    def _panel_checks(
        self, request: web.Request, *, default_split: str, splits: Sequence[str]
    ) -> tuple[StandInEval, str, float] | tuple[int, Any]:
        """The eval, split and confidence of a panel request, or the error to answer."""
        found = self._find(request)
        if found is None:
            return 404, json.loads(_error_body(404))
        split = request.query.get("split", default_split)
        if split not in splits:
            return 400, json.loads(
                _error_body(400, "invalid_split", f"split must be one of {', '.join(splits)}")
            )
        raw = request.query.get("confidence", str(DEFAULT_CONFIDENCE))
        if not raw.isdigit() or not 0 <= int(raw) <= 100:
            return 400, json.loads(
                _error_body(400, "invalid_confidence", "confidence must be an integer 0-100")
            )
        return found, split, int(raw) / 100

    @staticmethod
    def _not_done(found: StandInEval, what: str) -> tuple[int, Any]:
        why = "is still running" if found.status == "running" else f"has no {what} data"
        return 409, json.loads(_error_body(409, message=f"Model evaluation {why}"))

    def _confusion(self, request: web.Request) -> tuple[int, Any]:
        checked = self._panel_checks(request, default_split="test", splits=(*SPLITS, "all"))
        if len(checked) == 2:
            return checked
        found, split, confidence = checked
        data = found.confusion.get(split)
        if data is None and split == "all":
            data = _summed([found.confusion[s] for s in SPLITS if s in found.confusion])
        if found.status != "done" or data is None:
            return self._not_done(found, "confusion-matrix")
        return 200, {"split": split, "confidenceThreshold": confidence, **data}

    def _performance(self, request: web.Request) -> tuple[int, Any]:
        checked = self._panel_checks(request, default_split="test", splits=SPLITS)
        if len(checked) == 2:
            return checked
        found, split, _ = checked
        entries = found.performance.get(split)
        if found.status != "done" or entries is None:
            return self._not_done(found, "performance-by-class")
        task = found.map_results.get("taskType", DETECTION)
        return 200, {"taskType": task, "split": split, "classes": entries}

    def _image_predictions(self, request: web.Request) -> tuple[int, Any]:
        checked = self._panel_checks(request, default_split="all", splits=(*SPLITS, "all"))
        if len(checked) == 2:
            return checked
        found, split, confidence = checked
        raw_limit = request.query.get("limit", str(DEFAULT_IMAGE_LIMIT))
        raw_offset = request.query.get("offset", "0")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_IMAGE_LIMIT:
            return 400, json.loads(
                _error_body(400, "invalid_limit", f"limit must be 1..{MAX_IMAGE_LIMIT}")
            )
        if not raw_offset.isdigit():
            return 400, json.loads(_error_body(400, "invalid_offset", "offset must be >= 0"))
        if split == "all":
            chosen = [s for s in SPLITS if s in found.images]
            listed = [_image_json(e, s) for s in chosen for e in found.images[s]]
            missing = not chosen
        else:
            missing = split not in found.images
            listed = [_image_json(e, split) for e in found.images.get(split, [])]
        if found.status != "done" or missing:
            return self._not_done(found, "image-predictions")
        offset, limit = int(raw_offset), int(raw_limit)
        return 200, {
            "split": split,
            "confidenceThreshold": confidence,
            "totalImages": len(listed),
            "offset": offset,
            "limit": limit,
            "images": listed[offset : offset + limit],
        }


def _summed(matrices: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The `all` confusion matrix: the splits' matrices summed (when they share classes)."""
    if not matrices or any(m["classes"] != matrices[0]["classes"] for m in matrices):
        return None
    size = len(matrices[0]["classes"])
    total = [[sum(m["matrix"][i][j] for m in matrices) for j in range(size)] for i in range(size)]
    return {"classes": list(matrices[0]["classes"]), "matrix": total}


# --------------------------------------------------------------------------- standalone


def populate(
    standin: RoboflowStandIn,
    *,
    evals: int,
    classes: int = 3,
    task: str = "detection",
    seed: int = 0,
    version: str | None = None,
    images: int = 0,
) -> None:
    """Fill `standin` with `evals` done evals (ids eval-0001..., each of its own model
    model-0001... and dataset version 1..., or all on `version`) of `classes` classes each;
    with `images`, each also has panels of that many images per split."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(1, evals + 1):
        names = [f"class-{k:02d}" for k in range(classes)]
        values = {name: round(rng.uniform(0.5, 0.99), 4) for name in names}
        results = (
            segmentation_results(values, miou=round(sum(values.values()) / max(len(values), 1), 4))
            if task == "segmentation"
            else detection_results(values, map50=round(rng.uniform(0.6, 0.95), 4))
        )
        standin.add_eval(
            f"eval-{index:04d}",
            created_at=(start + timedelta(minutes=index)).isoformat().replace("+00:00", "Z"),
            map_results=results,
            version_id=version if version is not None else str(index),
            model_id=f"model-{index:04d}",
            **(generated_panels(names, images=images, seed=seed + index) if images > 0 else {}),
        )


async def _serve(args: argparse.Namespace) -> None:
    standin = RoboflowStandIn(api_key=args.api_key, workspace=args.workspace, latency=args.latency)
    populate(
        standin,
        evals=args.evals,
        classes=args.classes,
        task=args.task,
        seed=args.seed,
        version=args.version,
        images=args.images,
    )
    runner = web.AppRunner(standin.app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(f"http://{args.host}:{port}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.roboflow_standin",
        description="Serve a stand-in Roboflow model-evals API; prints the base URL.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each reply")
    parser.add_argument("--evals", type=int, default=32, help="number of done evals")
    parser.add_argument("--classes", type=int, default=3, help="classes per eval")
    parser.add_argument("--task", choices=("detection", "segmentation"), default="detection")
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--workspace", default="ws")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--version", default=None, help="put every eval on this dataset version (default: its own)"
    )
    parser.add_argument(
        "--images", type=int, default=0, help="give every eval panels with N images per split"
    )
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
