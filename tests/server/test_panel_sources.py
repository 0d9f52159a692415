"""The service's results sources pass the panels through: SharedResults shares a panel's
fetch while it is in flight (never caches it), TimedSource times it under its own label."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Histogram

from gate.http.retry import RetryPolicy
from gate.roboflow.client import RoboflowClient
from gate.server.cache import ResultsCache, SharedResults, SingleFlight
from gate.server.metrics import TimedSource
from tests.roboflow_standin import RoboflowStandIn, generated_panels

KEY = "rf_service_panels_0123456789"


@pytest.fixture
def standin():
    fake = RoboflowStandIn(api_key=KEY, workspace="ws", latency=0.05)
    fake.add_eval("abc", **generated_panels(["car", "bus"], images=30))
    return fake


async def test_the_service_sources_share_panels_in_flight_and_time_them(session, server, standin):
    client = RoboflowClient(
        session,
        api_key=KEY,
        workspace="ws",
        api_url=f"http://{server.host}:{server.port}",
        retry=RetryPolicy(attempts=1),
    )
    histogram = Histogram("t", "t", ["operation"], registry=CollectorRegistry())
    timed = TimedSource(client, histogram, asyncio.get_running_loop().time)
    flights = SingleFlight()
    shared = SharedResults(timed, ResultsCache(), flights, tenant="t", api_url="u", workspace="ws")
    try:
        matrices = await asyncio.gather(*(shared.confusion_matrix("abc", "test") for _ in range(3)))
        classes = await shared.performance_by_class("abc", "valid")
        page = await shared.image_predictions("abc", "train", 10, 5)
        await shared.confusion_matrix("abc", "test")  # after the first: asked again
    finally:
        await flights.close()
    assert matrices[0] == matrices[1] == matrices[2]
    assert matrices[0]["classes"] == ["car", "bus", "background"]
    assert [c["className"] for c in classes["classes"]] == ["car", "bus"]
    assert page["offset"] == 10 and len(page["images"]) == 5
    assert standin.count("confusion-matrix") == 2
    for operation, count in (
        ("confusion_matrix", 2),
        ("performance_by_class", 1),
        ("image_predictions", 1),
    ):
        samples = {
            s.name: s.value
            for s in histogram.collect()[0].samples
            if s.labels.get("operation") == operation and s.name in ("t_count", "t_sum")
        }
        assert samples["t_count"] == count, operation
        assert samples["t_sum"] >= 0.05 * count, operation  # the stand-in's latency, timed
