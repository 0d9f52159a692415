"""Prometheus metrics of `eval-gate serve`: one registry per app, the middleware and `/metrics`.

Metric names (documented in schema/openapi.yaml, under /metrics):

- `eval_gate_http_requests_total{route,method,status}`: answers, by route template (never
  the raw path, whose values are unbounded); a request whose client hung up before it was
  answered is counted with status 499, never as a 5xx;
- `eval_gate_verdicts_total{verdict}`: pass, warn, fail, or error (results unavailable);
- `eval_gate_upstream_request_seconds{operation}`: time of each Roboflow fetch (retries
  included), cache hits excluded;
- `eval_gate_cache_hits_total`, `eval_gate_cache_misses_total`: map-results lookups;
- `eval_gate_cache_bytes`: estimated bytes held by the results cache;
- `eval_gate_gates_in_flight`: gates running now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from gate.core.eval_info import EvalInfo, EvalQuery
from gate.fetch import ResultsSource

__all__ = [
    "CLIENT_CLOSED_REQUEST",
    "METRICS",
    "ServerMetrics",
    "TimedSource",
    "metrics_middleware",
    "routes",
]

CLIENT_CLOSED_REQUEST = 499  # nginx's status for "the client hung up": counted, never sent
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServerMetrics:
    """The server's metrics, in a registry of their own (so apps, and tests, never share one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "eval_gate_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "eval_gate_verdicts",
            "Gate verdicts given: pass, warn, fail, or error when results were unavailable",
            ["verdict"],
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "eval_gate_upstream_request_seconds",
            "Seconds per fetch from the Roboflow API (retries included)",
            ["operation"],
            buckets=UPSTREAM_BUCKETS,
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "eval_gate_cache_hits",
            "map-results lookups answered from the in-memory cache",
            registry=self.registry,
        )
        self.cache_misses = Counter(
            "eval_gate_cache_misses",
            "map-results lookups not in the cache (fetched, or joined an in-flight fetch)",
            registry=self.registry,
        )
        self.cache_bytes = Gauge(
            "eval_gate_cache_bytes",
            "Estimated bytes of map-results held by the cache",
            registry=self.registry,
        )
        self.gates_in_flight = Gauge(
            "eval_gate_gates_in_flight",
            "Gates running now",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS = web.AppKey("eval_gate.metrics", ServerMetrics)


class TimedSource:
    """A ResultsSource that times every fetch of the one it wraps into a histogram."""

    def __init__(
        self, upstream: ResultsSource, histogram: Histogram, clock: Callable[[], float]
    ) -> None:
        self._upstream = upstream
        self._histogram = histogram
        self._clock = clock

    def _observe(self, operation: str, started: float) -> None:
        self._histogram.labels(operation=operation).observe(max(0.0, self._clock() - started))

    async def map_results(self, eval_id: str) -> Any:
        started = self._clock()
        try:
            return await self._upstream.map_results(eval_id)
        finally:
            self._observe("map_results", started)

    async def eval_info(self, eval_id: str) -> EvalInfo:
        started = self._clock()
        try:
            return await self._upstream.eval_info(eval_id)
        finally:
            self._observe("eval_info", started)

    def has_info(self, eval_id: str) -> bool:
        return self._upstream.has_info(eval_id)

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        started = self._clock()
        try:
            return await self._upstream.confusion_matrix(eval_id, split)
        finally:
            self._observe("confusion_matrix", started)

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        started = self._clock()
        try:
            return await self._upstream.performance_by_class(eval_id, split)
        finally:
            self._observe("performance_by_class", started)

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        started = self._clock()
        try:
            return await self._upstream.image_predictions(eval_id, split, offset, limit)
        finally:
            self._observe("image_predictions", started)

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        started = self._clock()
        try:
            return await self._upstream.list_evals(query)
        finally:
            self._observe("list_evals", started)


def route_label(request: web.Request) -> str:
    """The matched route's template (`/v1/gate`), or `unmatched`: a label of bounded values."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def metrics_middleware(metrics: ServerMetrics) -> Middleware:
    """Counts every answer by route, method and status (500 if a handler escaped with an
    error; 499 if it was cancelled because its client hung up: not a server error)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        status = 500
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED_REQUEST
            raise
        else:
            status = response.status
        finally:
            metrics.http_requests.labels(
                route=route_label(request), method=request.method, status=str(status)
            ).inc()
        return response

    return middleware


routes = web.RouteTableDef()


@routes.get("/metrics")
async def get_metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this process's metrics."""
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
