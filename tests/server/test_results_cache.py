"""ResultsCache, SingleFlight and SharedResults, with the real RoboflowClient as upstream
talking to the stand-in Roboflow API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from typing import Any

import pytest

from gate.core.eval_info import EvalQuery
from gate.http.retry import RetryPolicy
from gate.roboflow.api import AuthError, NotReady, ServerError
from gate.roboflow.client import RoboflowClient
from gate.server.cache import (
    CacheKey,
    ResultsCache,
    SharedResults,
    SingleFlight,
    estimate_size,
    tenant_of,
)
from tests.roboflow_standin import (
    RoboflowStandIn,
    Scripted,
    detection_results,
    segmentation_results,
)

KEY = "rf_key_one_0123456789"
OTHER_KEY = "rf_key_two_9876543210"


@pytest.fixture
def standin():
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval("abc", map_results=detection_results({"car": 0.9, "person": 0.8}))
    fake.add_eval("def", map_results=detection_results({"bus": 0.7}))
    fake.add_eval("run", status="running")
    return fake


@pytest.fixture
def cache():
    return ResultsCache()


@pytest.fixture
async def flights():
    shared = SingleFlight()
    yield shared
    await shared.close()


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def make_source(session, server, cache, flights):
    """One request's SharedResults: its own RoboflowClient, the process-wide cache/flights."""

    def make(api_key=KEY, *, target=None, workspace="ws", on_hit=None, on_miss=None):
        target = target or server
        api_url = f"http://{target.host}:{target.port}"
        client = RoboflowClient(
            session,
            api_key=api_key,
            workspace=workspace,
            api_url=api_url,
            timeout=5.0,
            retry=RetryPolicy(attempts=1),
        )
        return SharedResults(
            client,
            cache,
            flights,
            tenant=tenant_of(api_key),
            api_url=api_url,
            workspace=workspace,
            on_hit=on_hit,
            on_miss=on_miss,
        )

    return make


async def wait_until(condition):
    async with asyncio.timeout(5.0):
        while not condition():  # noqa: ASYNC110 - polls state owned by the server under test
            await asyncio.sleep(0.005)


# --------------------------------------------------------------------------- SharedResults


async def test_second_request_for_a_done_eval_is_served_from_the_cache(make_source, standin, cache):
    hits, misses = Counter(), Counter()
    first = await make_source(on_hit=hits, on_miss=misses).map_results("abc")
    assert first == standin.evals["abc"].map_results
    assert standin.count("map-results") == 1

    second = await make_source(on_hit=hits, on_miss=misses).map_results("abc")
    assert second == first
    assert standin.count("map-results") == 1  # no second upstream call
    assert (hits.count, misses.count) == (1, 1)
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    assert cache.bytes == estimate_size(first) > 0


async def test_different_evals_are_cached_separately(make_source, standin):
    source = make_source()
    assert (await source.map_results("abc"))["splits"]["test"]["perClass"].keys() == {
        "car",
        "person",
    }
    assert (await source.map_results("def"))["splits"]["test"]["perClass"].keys() == {"bus"}
    assert standin.count("map-results") == 2


async def test_two_api_keys_do_not_share_results(make_source, standin, cache):
    await make_source(KEY).map_results("abc")
    standin.api_key = OTHER_KEY  # the second key is valid too (the first one no longer is)
    document = await make_source(OTHER_KEY).map_results("abc")
    assert document == standin.evals["abc"].map_results
    assert standin.count("map-results") == 2
    assert [r.headers["Authorization"] for r in standin.requests] == [
        f"Bearer {KEY}",
        f"Bearer {OTHER_KEY}",
    ]
    assert len(cache) == 2


async def test_cached_results_are_never_served_to_another_key(make_source, standin, cache):
    await make_source(KEY).map_results("abc")
    with pytest.raises(AuthError):
        await make_source("wrong-key-123").map_results("abc")
    assert standin.count("map-results") == 2
    assert len(cache) == 1


async def test_concurrent_requests_with_different_keys_do_not_join(make_source, standin, cache):
    standin.script("map-results", [Scripted(delay=0.2)])
    good, bad = await asyncio.gather(
        make_source(KEY).map_results("abc"),
        make_source("wrong-key-123").map_results("abc"),
        return_exceptions=True,
    )
    assert good == standin.evals["abc"].map_results
    assert isinstance(bad, AuthError)
    assert standin.count("map-results") == 2


async def test_another_api_url_or_workspace_is_another_entry(
    make_source, standin, aiohttp_server, cache
):
    twin = RoboflowStandIn(api_key=KEY, workspace="ws")
    twin.add_eval("abc", map_results=detection_results({"truck": 0.6}))
    twin_server = await aiohttp_server(twin.app())
    here = await make_source().map_results("abc")
    there = await make_source(target=twin_server).map_results("abc")
    assert set(here["splits"]["test"]["perClass"]) == {"car", "person"}
    assert set(there["splits"]["test"]["perClass"]) == {"truck"}
    assert (standin.count("map-results"), twin.count("map-results")) == (1, 1)

    standin.workspace = "ws2"
    standin.add_eval("abc", map_results=detection_results({"tram": 0.5}))
    other_workspace = await make_source(workspace="ws2").map_results("abc")
    assert set(other_workspace["splits"]["test"]["perClass"]) == {"tram"}
    assert standin.count("map-results") == 2
    assert len(cache) == 3


async def test_twenty_concurrent_identical_requests_make_one_upstream_call(
    make_source, standin, cache, flights
):
    standin.script("map-results", [Scripted(delay=0.2)])
    documents = await asyncio.gather(*(make_source().map_results("abc") for _ in range(20)))
    assert standin.count("map-results") == 1
    expected = standin.evals["abc"].map_results
    assert all(document == expected for document in documents)
    assert flights.in_flight == 0
    assert (cache.hits, cache.misses, len(cache)) == (0, 20, 1)


async def test_a_running_eval_is_not_cached(make_source, standin, cache):
    with pytest.raises(NotReady):
        await make_source().map_results("run")
    assert len(cache) == 0
    with pytest.raises(NotReady):
        await make_source().map_results("run")
    assert standin.count("map-results") == 2

    standin.set_status("run", "done")
    document = await make_source().map_results("run")
    assert document == standin.evals["run"].map_results
    assert await make_source().map_results("run") == document
    assert standin.count("map-results") == 3


async def test_an_upstream_error_reaches_every_joiner_and_is_not_cached(
    make_source, standin, cache, flights
):
    standin.script("map-results", [Scripted(503, delay=0.2)])
    outcomes = await asyncio.gather(
        *(make_source().map_results("abc") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(outcome, ServerError) for outcome in outcomes)
    assert standin.count("map-results") == 1
    assert len(cache) == 0
    assert flights.in_flight == 0

    document = await make_source().map_results("abc")  # the next call retries upstream
    assert document == standin.evals["abc"].map_results
    assert standin.count("map-results") == 2
    assert len(cache) == 1


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch(make_source, standin, cache):
    standin.script("map-results", [Scripted(delay=0.3)])
    waiters = [asyncio.ensure_future(make_source().map_results("abc")) for _ in range(3)]
    await wait_until(lambda: standin.count("map-results") == 1)
    waiters[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiters[0]
    documents = await asyncio.gather(*waiters[1:])
    assert documents == [standin.evals["abc"].map_results] * 2
    assert standin.count("map-results") == 1
    assert len(cache) == 1


async def test_the_first_waiter_cancelled_leaves_the_fetch_to_the_others(make_source, standin):
    standin.script("map-results", [Scripted(delay=0.3)])
    leader = asyncio.ensure_future(make_source().map_results("abc"))
    await wait_until(lambda: standin.count("map-results") == 1)
    follower = asyncio.ensure_future(make_source().map_results("abc"))
    await asyncio.sleep(0.01)
    leader.cancel()
    assert await follower == standin.evals["abc"].map_results
    assert leader.cancelled()
    assert standin.count("map-results") == 1


async def test_with_every_waiter_gone_the_fetch_finishes_and_is_cached(
    make_source, standin, cache, flights
):
    standin.script("map-results", [Scripted(delay=0.2)])
    waiters = [asyncio.ensure_future(make_source().map_results("abc")) for _ in range(2)]
    await wait_until(lambda: standin.count("map-results") == 1)
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert flights.in_flight == 1  # still fetching in the background
    await wait_until(lambda: flights.in_flight == 0)
    assert len(cache) == 1
    assert await make_source().map_results("abc") == standin.evals["abc"].map_results
    assert standin.count("map-results") == 1


def _fail_soon():
    async def fail():
        raise RuntimeError("boom")

    return fail()


async def test_a_failure_with_every_waiter_gone_is_not_reported_unretrieved(
    make_source, standin, cache, flights
):
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        # The detector works: a failed task nobody awaits is reported when collected.
        orphan = asyncio.ensure_future(_fail_soon())
        await asyncio.sleep(0.01)
        assert orphan.done()
        del orphan
        gc.collect()
        assert [c["message"] for c in reported] == ["Task exception was never retrieved"]
        reported.clear()

        standin.script("map-results", [Scripted(503, delay=0.2)])
        waiters = [asyncio.ensure_future(make_source().map_results("abc")) for _ in range(2)]
        await wait_until(lambda: standin.count("map-results") == 1)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        await wait_until(lambda: flights.in_flight == 0)
        del waiters
        await asyncio.sleep(0.01)
        gc.collect()
        await asyncio.sleep(0)
        assert reported == []
        assert len(cache) == 0
    finally:
        loop.set_exception_handler(previous)


async def test_eval_info_is_shared_in_flight_but_never_cached(make_source, standin):
    standin.script("info", [Scripted(delay=0.2)])
    infos = await asyncio.gather(*(make_source().eval_info("run") for _ in range(5)))
    assert {info.status for info in infos} == {"running"}
    assert standin.count("info") == 1
    standin.set_status("run", "done")
    assert (await make_source().eval_info("run")).status == "done"
    assert standin.count("info") == 2


DONE = EvalQuery(status="done")


async def test_list_evals_is_shared_in_flight_but_never_cached(make_source, standin):
    standin.script("list", [Scripted(delay=0.2)])
    first, second = await asyncio.gather(
        make_source().list_evals(DONE), make_source().list_evals(DONE)
    )
    assert [e.eval_id for e in first] == [e.eval_id for e in second]
    assert {e.eval_id for e in first} == {"abc", "def"}
    first.clear()  # each caller owns its list
    assert len(second) == 2
    assert standin.count("list") == 1
    await make_source().list_evals(DONE)
    await make_source().list_evals(EvalQuery(status="running"))
    assert standin.count("list") == 3


# --------------------------------------------------------------------------- SingleFlight


async def test_single_flight_forgets_a_key_when_its_work_completes():
    flights = SingleFlight()
    calls: list[str] = []

    async def work(value: str) -> str:
        calls.append(value)
        await asyncio.sleep(0.05)
        if value == "bad":
            raise ValueError(value)
        return value.upper()

    results = await asyncio.gather(
        flights.run("a", lambda: work("a")),
        flights.run("a", lambda: work("a-again")),
        flights.run("b", lambda: work("b")),
    )
    assert results == ["A", "A", "B"]
    assert calls == ["a", "b"]
    assert flights.in_flight == 0
    assert await flights.run("a", lambda: work("a")) == "A"  # no memo: runs again
    assert calls == ["a", "b", "a"]

    with pytest.raises(ValueError, match="bad"):
        await flights.run("x", lambda: work("bad"))
    assert flights.in_flight == 0
    assert await flights.run("x", lambda: work("x")) == "X"


async def test_single_flight_close_cancels_work_in_flight():
    flights = SingleFlight()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    waiter = asyncio.ensure_future(flights.run("k", forever))
    await started.wait()
    assert flights.in_flight == 1
    await flights.close()
    assert flights.in_flight == 0
    with pytest.raises(asyncio.CancelledError):
        await waiter


# --------------------------------------------------------------------------- ResultsCache


def key(eval_id: str, tenant: str = "t") -> CacheKey:
    return CacheKey(tenant=tenant, api_url="https://api.example", workspace="ws", eval_id=eval_id)


def test_lru_evicts_least_recently_used_by_bytes():
    cache = ResultsCache(max_bytes=100)
    cache.put(key("a"), {"a": 1}, 40)
    cache.put(key("b"), {"b": 1}, 30)
    cache.put(key("c"), {"c": 1}, 30)
    assert (len(cache), cache.bytes) == (3, 100)
    assert cache.get(key("a")) == {"a": 1}  # a is now the most recently used
    cache.put(key("d"), {"d": 1}, 50)  # evicts b (30), then c (30)
    assert key("b") not in cache
    assert key("c") not in cache
    assert (len(cache), cache.bytes, cache.evictions) == (2, 90, 2)
    assert cache.get(key("b")) is None
    assert cache.get(key("d")) == {"d": 1}
    assert (cache.hits, cache.misses) == (2, 1)


def test_oversize_entry_is_not_stored_and_evicts_nothing():
    cache = ResultsCache(max_bytes=100)
    cache.put(key("a"), {"a": 1}, 60)
    cache.put(key("big"), {"big": 1}, 101)
    assert key("big") not in cache
    assert key("a") in cache
    assert (cache.bytes, cache.evictions, cache.oversized) == (60, 0, 1)
    cache.put(key("exact"), {"exact": 1}, 100)  # fits exactly, after evicting a
    assert (len(cache), cache.bytes, cache.evictions) == (1, 100, 1)


def test_replacing_an_entry_updates_bytes():
    cache = ResultsCache(max_bytes=100)
    cache.put(key("a"), {"v": 1}, 40)
    cache.put(key("b"), {"v": 2}, 40)
    cache.put(key("a"), {"v": 3}, 10)
    assert (len(cache), cache.bytes, cache.evictions) == (2, 50, 0)
    assert cache.get(key("a")) == {"v": 3}
    cache.put(key("a"), {"v": 4}, 500)  # oversize replacement drops the stale entry
    assert key("a") not in cache
    assert cache.bytes == 40


def test_cache_rejects_bad_input():
    with pytest.raises(ValueError, match="max_bytes"):
        ResultsCache(max_bytes=-1)
    cache = ResultsCache(max_bytes=10)
    with pytest.raises(ValueError, match="size"):
        cache.put(key("a"), {}, -1)
    with pytest.raises(ValueError, match="None"):
        cache.put(key("a"), None, 1)


def test_keys_differ_by_tenant():
    cache = ResultsCache()
    cache.put(key("a", tenant=tenant_of(KEY)), {"who": 1}, 1)
    assert cache.get(key("a", tenant=tenant_of(OTHER_KEY))) is None
    assert cache.get(key("a", tenant=tenant_of(KEY))) == {"who": 1}


def test_tenant_is_a_hash_never_the_key():
    tenant = tenant_of(KEY)
    assert len(tenant) == 64
    assert int(tenant, 16) >= 0
    assert KEY not in tenant
    assert tenant == tenant_of(KEY)
    assert tenant != tenant_of(OTHER_KEY)
    assert KEY not in repr(CacheKey(tenant, "https://api", "ws", "e"))


# --------------------------------------------------------------------------- size estimate


def deep_getsizeof(document: Any) -> int:
    """The exact in-memory size: every distinct object, once."""
    seen: set[int] = set()
    total = 0
    stack = [document]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        total += sys.getsizeof(node)
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return total


@pytest.mark.parametrize(
    "document",
    [
        detection_results([f"class-{i:04d}" for i in range(2000)]),
        detection_results({f"c{i}": (None if i % 3 == 0 else 0.5) for i in range(500)}),
        segmentation_results([f"class-{i:04d}" for i in range(2000)]),
        detection_results(["car", "person", "bus"]),
        {"splits": {"test": {"perClass": {}}}, "note": "x" * 10_000},
    ],
    ids=["det-2000", "det-500-with-nulls", "seg-2000", "det-3", "small-with-long-string"],
)
def test_estimate_is_close_to_the_exact_in_memory_size(document):
    decoded = json.loads(json.dumps(document))  # shaped as the client hands it over
    exact = deep_getsizeof(decoded)
    assert 0.9 * exact <= estimate_size(decoded) <= 1.1 * exact


def test_estimate_cost_is_bounded_on_a_huge_wide_and_deep_structure():
    node: Any = 0.5
    for _ in range(10):
        node = [node] * 30  # 30**10 leaves if walked in full
    started = time.perf_counter()
    size = estimate_size(node)
    assert time.perf_counter() - started < 2.0
    assert size > 30**9  # still scaled up, not truncated to what was measured


def test_estimate_rejects_bad_parameters():
    with pytest.raises(ValueError, match="sample"):
        estimate_size({}, sample=0)
