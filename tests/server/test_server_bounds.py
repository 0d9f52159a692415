"""What a request expands into (`gate.api.bounds`) and the stoppable work (`gate.server.work`).

The counts are checked against the real thing: `count_checks` against the checks
`gate.core.evaluate.evaluate` makes, `checks_floor` against them too, `encode_document` against
`json.dumps`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.api.bounds import checks_floor, count_checks, watched
from gate.api.stopping import TICK, StopFlag, WorkStopped, encode_document
from gate.core.errors import ConfigError
from gate.core.evaluate import EvalInput, evaluate
from gate.core.model import ALL, EvalSpec, GateConfig, IfMissing, Rule, Threshold, ThresholdKind
from gate.core.results import parse_map_results
from gate.server.work import WorkPool
from tests.roboflow_standin import detection_results, segmentation_results

CLASSES = ("car", "bus", "van", "truck", "bike")
SPLIT_NAMES = ("test", "valid", "train")
PROPERTY = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


# --------------------------------------------------------------------------- count_checks


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A map-results document: some splits, a few classes, now and then an odd split."""
    splits = draw(st.lists(st.sampled_from(SPLIT_NAMES), unique=True, max_size=3))
    classes = draw(st.lists(st.sampled_from(CLASSES), unique=True, max_size=5))
    if draw(st.booleans()):
        document = detection_results(classes, splits=splits)
    else:
        document = segmentation_results(classes, splits=splits)
    for name in splits:
        odd = draw(st.sampled_from(["fine", "fine", "no-classes", "null-split", "bad-classes"]))
        if odd == "no-classes":
            document["splits"][name].pop("perClass")
        elif odd == "null-split":
            document["splits"][name] = None
        elif odd == "bad-classes":
            document["splits"][name]["perClass"] = "oops"
    return document


METRIC_NAMES = ("map50", "map75", "miou", "iou", "precision")
KINDS = (ThresholdKind.MIN, ThresholdKind.MAX, ThresholdKind.MAX_DROP, ThresholdKind.MAX_DROP_PCT)


@st.composite
def rules(draw: st.DrawFn, eval_ids: list[str]) -> Rule:
    kinds = draw(st.lists(st.sampled_from(KINDS), unique=True, min_size=1, max_size=3))
    splits = draw(
        st.one_of(
            st.just(ALL),
            st.lists(st.sampled_from(SPLIT_NAMES), unique=True, min_size=1).map(tuple),
        )
    )
    classes = draw(
        st.one_of(
            st.none(),
            st.just(ALL),
            st.lists(st.sampled_from((*CLASSES, "ghost")), unique=True, min_size=1).map(tuple),
        )
    )
    evals = draw(st.one_of(st.none(), st.lists(st.sampled_from(eval_ids), min_size=1).map(tuple)))
    return Rule(
        metric=draw(st.sampled_from(METRIC_NAMES)),
        thresholds=tuple(Threshold(kind, 0.5) for kind in kinds),
        splits=splits,
        classes=classes,
        if_missing=IfMissing.SKIP,  # a regression rule without a baseline is then still valid
        evals=evals,
    )


@st.composite
def gates(draw: st.DrawFn) -> tuple[GateConfig, list[EvalInput]]:
    count = draw(st.integers(1, 3))
    ids = [f"e{i}" for i in range(count)]
    inputs = []
    for eval_id in ids:
        results = parse_map_results(draw(documents()), eval_id)
        baseline = None
        if draw(st.booleans()):
            baseline = parse_map_results(draw(documents()), f"{eval_id}-base")
        inputs.append(
            EvalInput(spec=EvalSpec(eval_id), results=results, baseline=baseline, baseline_id=None)
        )
    config = GateConfig(version=1, rules=tuple(draw(st.lists(rules(ids), min_size=1, max_size=6))))
    return config, inputs


@PROPERTY
@given(gates())
def test_count_checks_is_exactly_what_evaluate_makes(gate):
    config, inputs = gate
    try:
        outcome = evaluate(config, inputs)
    except ConfigError:
        return  # a config that cannot be evaluated is refused before anything is counted
    assert count_checks(config, inputs) == sum(1 for _ in outcome.checks)


@PROPERTY
@given(gates())
def test_the_floor_never_exceeds_what_any_single_applicable_eval_makes(gate):
    """Each rule's floor is at most its checks on any evaluation it applies to."""
    config, inputs = gate
    for rule in config.rules:
        one = GateConfig(version=1, rules=(rule,))
        try:
            outcome = evaluate(one, inputs)
        except ConfigError:
            continue  # applies to no evaluation here
        per_eval = [len(ev.checks) for ev in outcome.evals if ev.checks]
        assert checks_floor(one) <= min(per_eval)


def test_classes_of_a_lost_class_count_for_regressions():
    now = parse_map_results(detection_results(["car"]), "e1")
    before = parse_map_results(detection_results(["car", "bus"]), "base")
    rule = Rule("map50", (Threshold(ThresholdKind.MAX_DROP, 0.1),), splits=ALL, classes=ALL)
    config = GateConfig(version=1, rules=(rule,))
    inputs = [EvalInput(EvalSpec("e1"), now, before, "base")]
    assert count_checks(config, inputs) == 6 == len(evaluate(config, inputs).evals[0].checks)


# --------------------------------------------------------------------------- encode_document

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children)
    ),
    max_leaves=30,
)


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    st.lists(st.dictionaries(st.text(max_size=4), json_values, max_size=3), min_size=1, max_size=4),
    st.integers(0, 1600),
)
def test_encode_document_is_json_dumps(document, items, count):
    """Long lists are encoded in chunks (ENCODE_CHUNK items): the text is the same."""
    checks = [items[i % len(items)] for i in range(count)]
    document = {**document, "checks": checks}
    assert encode_document(document, StopFlag()) == json.dumps(document, allow_nan=False)


def test_encode_document_stops_between_chunks():
    flag = StopFlag()
    flag.stop("cancelled")
    with pytest.raises(WorkStopped, match="cancelled"):
        encode_document({"checks": list(range(10_000))}, flag)


# --------------------------------------------------------------------------- StopFlag, WorkPool


def test_a_past_deadline_stops_the_work():
    flag = StopFlag(time.monotonic() - 1)
    with pytest.raises(WorkStopped) as caught:
        flag.check()
    assert caught.value.reason == "deadline"
    assert flag.stopped


def test_tick_reads_the_flag_every_tick_calls():
    flag = StopFlag()
    flag.stop("cancelled")
    for _ in range(TICK - 1):
        flag.tick()
    with pytest.raises(WorkStopped):
        flag.tick()


def test_watched_results_stop_an_evaluation_between_checks():
    results = parse_map_results(detection_results([f"c{i}" for i in range(2000)]), "e1")
    rule = Rule("map50", (Threshold(ThresholdKind.MIN, 0.5),), splits=ALL, classes=ALL)
    config = GateConfig(version=1, rules=(rule,))
    flag = StopFlag()
    inputs = watched([EvalInput(EvalSpec("e1"), results)], flag)
    assert len(evaluate(config, inputs).evals[0].checks) == 6000  # same checks, watched
    flag.stop("cancelled")
    with pytest.raises(WorkStopped):
        evaluate(config, inputs)


async def test_the_pool_runs_work_off_the_loop_thread_in_the_callers_context():
    pool = WorkPool(1)
    try:
        ran_on = await pool.run(StopFlag(), "probe", threading.get_ident)
        assert ran_on != threading.get_ident()
    finally:
        pool.close()


async def test_cancelling_the_caller_stops_the_work_and_queued_work_never_starts():
    pool = WorkPool(1)
    started: list[str] = []
    running = threading.Event()

    def spin(flag: StopFlag, name: str) -> None:
        started.append(name)
        running.set()
        while True:
            flag.tick()

    first, second = StopFlag(), StopFlag()
    try:
        busy = asyncio.ensure_future(pool.run(first, "spin", spin, first, "first"))
        queued = asyncio.ensure_future(pool.run(second, "spin", spin, second, "second"))
        await asyncio.to_thread(running.wait, 5)
        busy.cancel()
        queued.cancel()
        await asyncio.gather(busy, queued, return_exceptions=True)
        for _ in range(500):
            if pool.busy == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.busy == 0
        assert first.stopped and second.stopped
        assert started == ["first"]
    finally:
        pool.close()
