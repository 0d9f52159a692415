"""`eval-gate serve` under hostile input and hostile load, on the real app against the stand-in.

Every answer goes through `tests.server.test_server.call`, which checks it against
schema/openapi.yaml and for secrets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any

import pytest
from structlog.testing import capture_logs

from gate.api.errors import ApiError
from gate.core.errors import MAX_PROBLEMS
from gate.server.gate import WORK, parse_call
from tests.roboflow_standin import detection_results
from tests.server import test_server
from tests.server.test_server import CONFIG, JSON_TYPE, TOKEN, call, gate_body, wait_for

# The app on 127.0.0.1 against the stand-in, as in test_server (fixtures found by name).
standin = test_server.standin
api_url = test_server.api_url
settings = test_server.settings
make_client = test_server.make_client
client = test_server.client

EVERYTHING = {"metric": "map50", "split": "*", "classes": "*", "min": 0.5}


def per_class_rules(count: int, **extra: Any) -> dict[str, Any]:
    rule = {"metric": "map50", "split": "*", "classes": "*", "min": 0.5, **extra}
    return {"version": 1, "workspace": "ws", "rules": [rule] * count}


async def post_raw(client, data: bytes, **headers: str):
    return await call(client, "POST", "/v1/gate", data=data, headers={**JSON_TYPE, **headers})


def one_line(answer) -> str:
    message = answer.json["message"]
    assert "\n" not in message
    assert len(answer.text) < 2_000, len(answer.text)
    return message


# --------------------------------------------------------------------------- strict JSON


async def test_a_duplicate_key_in_the_body_is_400_naming_it(client, standin):
    data = b'{"config": "version: 1\\nrules: [map50 >= 0.1]\\n", "evals": ["e1"], "evals": ["e2"]}'
    answer = await post_raw(client, data)
    assert answer.status == 400
    assert answer.json["error"] == "invalid_json"
    assert "duplicate key 'evals'" in one_line(answer)
    assert standin.count() == 0


async def test_a_duplicate_key_in_an_object_config_is_400_naming_it(client, standin):
    data = (
        b'{"evals": ["e1"], "config": {"version": 1, "workspace": "ws", '
        b'"rules": [{"metric": "map50", "min": 0.99, "min": 0.1}]}}'
    )
    answer = await post_raw(client, data)
    assert answer.status == 400
    assert answer.json["error"] == "invalid_json"
    assert "duplicate key 'min'" in one_line(answer)
    assert standin.count() == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"config": ' + b"9" * 5000 + b"}", "5,000 digits"),
        (b'{"config": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"config": {}, "wait": Infinity}', "Infinity is not a JSON number"),
        (b'{"config": {}, "wait": NaN}', "NaN is not a JSON number"),
        (b"", "Expecting value"),
    ],
    ids=["huge-integer", "deep-nesting", "infinity", "nan", "empty"],
)
async def test_hostile_json_is_a_one_line_400(client, standin, data, reason):
    answer = await post_raw(client, data)
    assert answer.status == 400
    assert answer.json["error"] == "invalid_json"
    assert reason in one_line(answer)
    assert standin.count() == 0


# --------------------------------------------------------------------------- media type


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
async def test_a_body_that_is_not_json_is_415(client, standin, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    data = json.dumps(gate_body("e1")).encode()
    answer = await call(client, "POST", "/v1/gate", data=data, headers=headers)
    assert answer.status == 415
    assert answer.json["error"] == "unsupported_media_type"
    assert "Content-Type: application/json" in answer.json["message"]
    assert standin.count() == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
async def test_json_with_or_without_a_utf8_charset_is_accepted(client, standin, content_type):
    standin.add_eval("e1")
    data = json.dumps(gate_body("e1")).encode()
    answer = await call(
        client, "POST", "/v1/gate", data=data, headers={"Content-Type": content_type}
    )
    assert answer.status == 200, answer.text


# --------------------------------------------------------------------------- bounded expansion


async def test_the_issue_request_is_refused_before_any_fetch(client, standin):
    """1,000 rules x 100 evals, every split and class: 1.6M checks, 74 s on the loop, before."""
    body = gate_body(*(f"e{i:03d}" for i in range(100)), config=per_class_rules(1000))
    data = json.dumps(body).encode()
    assert len(data) < 70_000
    started = time.perf_counter()
    answer = await post_raw(client, data)
    assert time.perf_counter() - started < 5
    assert answer.status == 400
    assert answer.json["error"] == "too_many_checks"
    assert answer.json["max_checks"] == 20_000
    assert answer.json["checks"] == 100_000  # rule-evaluation pairs, each at least one check
    message = one_line(answer)
    assert "1,000 rules x 100 evaluations = 100,000" in message
    assert "at most 20,000 checks" in message
    assert "EVAL_GATE_MAX_CHECKS" in message
    assert standin.count() == 0


async def test_listed_splits_and_classes_are_counted_before_any_fetch(make_client, standin):
    client = await make_client(max_checks=1000)
    classes = [f"c{i}" for i in range(200)]
    rule = {"metric": "map50", "split": ["test", "valid"], "classes": classes, "min": 0.5}
    config = {"version": 1, "workspace": "ws", "rules": [rule, rule, {**rule, "max": 0.9}]}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 400
    assert answer.json["error"] == "too_many_checks"
    assert answer.json["checks"] == 2 * 200 * (1 + 1 + 2)
    assert "at least 1,600 checks" in answer.json["message"]
    assert standin.count() == 0


async def test_classes_known_only_from_the_results_are_counted_before_evaluating(
    make_client, standin
):
    """Per-class rules over 3 splits of 50 classes (one with two thresholds), plus a
    split-level rule: 150 + 300 + 1 = 451 checks."""
    client = await make_client(max_checks=450)
    standin.add_eval("e1", map_results=detection_results([f"c{i}" for i in range(50)]))
    config = {
        "version": 1,
        "workspace": "ws",
        "rules": [EVERYTHING, {**EVERYTHING, "max": 1.0}, "map50 >= 0.1"],
    }
    with capture_logs() as logs:
        refused = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert refused.status == 400
    assert refused.json["error"] == "too_many_checks"
    assert (refused.json["checks"], refused.json["max_checks"]) == (451, 450)
    assert "451 checks (counted from the results)" in refused.json["message"]
    assert standin.count("map-results") == 1  # fetched, then refused before evaluating
    assert "gate.verdict" not in [e["event"] for e in logs]
    exactly = await make_client(max_checks=451)
    answer = await call(exactly, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 200, answer.text
    assert answer.json["counts"]["total"] == 451


async def test_yaml_aliases_cannot_bypass_the_bound(client, standin):
    """An anchored rule repeated by alias: 4 bytes a rule, 300 checks each."""
    classes = ", ".join(f"c{i}" for i in range(100))
    text = (
        "version: 1\nworkspace: ws\nrules:\n"
        f"  - &r {{metric: map50, split: [test, valid, train], classes: [{classes}], min: 0.5}}\n"
        + "  - *r\n"
        * 299
    )
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=text))
    assert answer.status == 400
    assert answer.json["error"] == "too_many_checks"
    assert answer.json["checks"] == 300 * 3 * 100
    assert standin.count() == 0


async def test_a_yaml_alias_bomb_is_a_config_error_not_a_stall(client, standin):
    """10^9 values under keys the validator never walks into: refused at once."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "\n".join(["version: 1", "workspace: ws", *lines, "rules: *a8", ""])
    started = time.perf_counter()
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=text))
    assert time.perf_counter() - started < 5
    assert answer.status == 400
    assert answer.json["error"] == "invalid_config"
    assert len(answer.text) < 10_000
    assert standin.count() == 0


async def test_aliases_the_validator_would_walk_millions_of_times_are_refused(client, standin):
    """2,000 aliases of a rule listing 1,000 classes: 12 KB that stand for 2M values."""
    classes = ", ".join(f"c{i}" for i in range(1000))
    text = (
        "version: 1\nworkspace: ws\nrules:\n"
        f"  - &r {{metric: map50, classes: [{classes}], min: 0.5}}\n" + "  - *r\n" * 2000
    )
    started = time.perf_counter()
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=text))
    assert time.perf_counter() - started < 5
    assert answer.status == 400
    assert answer.json["error"] == "invalid_config"
    assert "expands to more than" in one_line(answer)
    assert standin.count() == 0


async def test_a_cyclic_yaml_alias_is_a_config_error(client, standin):
    text = "version: 1\nworkspace: ws\nrules: &r [map50 >= 0.1, *r]\n"
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=text))
    assert answer.status == 400
    assert answer.json["error"] == "invalid_config"
    assert standin.count() == 0


async def test_more_than_100_evaluations_counting_the_config_are_refused(client, standin):
    config = {"version": 1, "workspace": "ws", "rules": ["map50 >= 0.1"]}
    config["evals"] = [f"c{i}" for i in range(60)]
    body = gate_body(*(f"b{i}" for i in range(60)), config=config)
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 400
    assert answer.json["error"] == "invalid_request"
    assert "120 evaluations" in answer.json["message"]
    assert standin.count() == 0


async def test_a_rule_for_no_gated_evaluation_is_a_config_error_not_a_500(client, standin):
    standin.add_eval("e1")
    config = {"version": 1, "workspace": "ws", "rules": ["miou >= 0.5"]}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 400
    assert answer.json["error"] == "invalid_config"
    assert "applies to no evaluation" in answer.json["message"]


# --------------------------------------------------------------------------- bounded problems


async def test_a_mib_of_invalid_yaml_rules_answers_50_problems_and_a_count(make_client, standin):
    client = await make_client(max_body=2 * 1024 * 1024)
    count = 70_000
    text = "version: 1\nworkspace: ws\nrules:\n" + "  - map50 >= 2\n" * count
    data = json.dumps(gate_body("e1", config=text)).encode()
    assert len(data) > 1024 * 1024
    answer = await post_raw(client, data)
    assert answer.status == 400
    error = answer.json
    assert error["error"] == "invalid_config"
    assert len(error["problems"]) == MAX_PROBLEMS
    assert error["problems_total"] == count
    assert error["problems"][-1]["line"] == 3 + MAX_PROBLEMS
    assert f"(and {count - 1:,} more problems)" in error["message"]
    assert len(answer.text) < 20_000
    assert standin.count() == 0


async def test_object_config_problems_are_capped_too(client):
    config = {"version": 1, "workspace": "ws", "rules": [7] * 5000}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 400
    assert len(answer.json["problems"]) == MAX_PROBLEMS
    assert answer.json["problems_total"] == 5000
    assert answer.json["problems"][0]["message"].startswith("rules[0]: ")


async def test_body_and_config_problems_are_capped_together(client):
    body: dict[str, Any] = {f"bogus{i}": 1 for i in range(80)}
    body["config"] = {"version": 2, "rules": [7] * 30}
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 400
    error = answer.json
    assert error["error"] == "invalid_request"
    assert len(error["problems"]) == MAX_PROBLEMS
    assert error["problems_total"] == 80 + 31  # unknown fields; the config: version, 30 rules
    assert [p["field"] for p in error["problems"]] == [f"bogus{i}" for i in range(MAX_PROBLEMS)]
    assert "(and 110 more problems)" in error["message"]


async def test_a_more_than_1000_rule_object_config_is_refused_unvalidated(make_client, standin):
    client = await make_client(max_checks=1000)
    config = {"version": 1, "workspace": "ws", "rules": [7] * 1001}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 400
    assert answer.json["error"] == "too_many_checks"
    assert "config.rules lists 1,001 rules" in answer.json["message"]


# --------------------------------------------------------------------------- off the event loop


def big_results(classes: int) -> dict[str, Any]:
    return detection_results({f"class-{i}": 0.3 + (i % 60) / 100 for i in range(classes)})


async def test_the_largest_allowed_request_never_blocks_the_event_loop(client, standin, caplog):
    """About 20,000 checks (a second or more of CPU) while /healthz is asked every 20 ms: the
    loop never runs one callback for long (asyncio's slow-callback warning, debug mode).
    The test's own client only reads the big answer's bytes until the gate is done. (200
    classes, a 0.13 MB document: the Roboflow client still decodes map-results on the event
    loop, about 0.1 s a MB of JSON.)"""
    standin.add_eval("big", map_results=big_results(200))
    config = per_class_rules(33)  # 33 rules x 3 splits x 200 classes = 19,800 checks
    body = gate_body("big", config=config, max_chars=1_000_000)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def gate() -> tuple[int, bytes]:
        async with client.post("/v1/gate", json=body, headers=headers) as resp:
            return resp.status, await resp.read()

    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = 0.9  # the promise is "answered within a second"
    loop.set_debug(True)
    caplog.set_level(logging.WARNING, logger="asyncio")
    task = asyncio.create_task(gate())
    latencies: list[float] = []
    try:
        while not task.done():
            started = loop.time()
            async with client.get("/healthz") as health:
                assert health.status == 200
                await health.read()
            latencies.append(loop.time() - started)
            await asyncio.sleep(0.02)
        status, data = await task
    finally:
        loop.set_debug(False)
    assert status == 200, data[:500]
    assert json.loads(data)["counts"]["total"] == 19_800
    # /healthz answered while the gate ran (how many times depends on the machine's speed:
    # on a quiet one the gate can finish after two probes)
    assert latencies
    assert max(latencies) < 1.0, max(latencies)
    slow = [r.getMessage() for r in caplog.records if "took" in r.getMessage()]
    assert not slow, slow


async def test_the_deadline_stops_the_work_itself(make_client, standin):
    """900,000 checks (many seconds of CPU) with a 2 s deadline: the answer is a 422 at the
    deadline, and the worker thread stops within a moment instead of finishing the work. (The
    deadline leaves the fetch of the 1,000-class document time enough on a loaded machine:
    at 0.5 s it once ran out while fetching.)"""
    client = await make_client(request_deadline=2.0, max_checks=10_000_000)
    standin.add_eval("big", map_results=big_results(1000))
    config = per_class_rules(300)
    app = client.server.app
    with capture_logs() as logs:
        answer = await call(client, "POST", "/v1/gate", body=gate_body("big", config=config))
        answered = time.perf_counter()
        assert answer.status == 422
        assert "deadline of 2 s was reached while evaluating" in answer.json["message"]
        await wait_for(lambda: app[WORK].busy == 0, within=5.0)
        stopped_after = time.perf_counter() - answered
    events = [e for e in logs if e["event"] == "server.work_stopped"]
    # Whichever notices first: the thread (its deadline) or the loop (the request's timeout).
    assert [e["work"] for e in events] == ["evaluate"]
    assert events[0]["reason"] in ("deadline", "cancelled")
    assert "gate.verdict" not in [e["event"] for e in logs]
    assert stopped_after < 1.0, stopped_after  # unstopped, evaluating alone takes seconds


async def test_a_request_cut_at_its_deadline_frees_the_thread_for_the_next(make_client, standin):
    """One work thread: a small gate queued behind a huge one waits until the huge one's
    deadline stops it, then gets the thread and answers well within its own deadline."""
    # The huge gate is cut at 3 s; the small one starts at 2 s and may run until 5 s: 2 s of
    # slack for the cut to take effect on a busy machine.
    client = await make_client(request_deadline=3.0, max_checks=10_000_000, work_threads=1)
    standin.add_eval("big", map_results=big_results(1000))
    standin.add_eval("e1")
    app = client.server.app
    loop = asyncio.get_running_loop()
    big_started = loop.time()
    big = asyncio.create_task(
        call(client, "POST", "/v1/gate", body=gate_body("big", config=per_class_rules(200)))
    )
    await wait_for(lambda: app[WORK].busy == 1 and standin.count("map-results") == 1)
    await asyncio.sleep(max(0.0, big_started + 2.0 - loop.time()))
    small_started = loop.time()
    small = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    small_took = loop.time() - small_started
    assert small.status == 200, small.text
    assert (await big).status == 422
    assert small_took > 0.5  # it waited for the thread: the huge gate held it until cut
    await wait_for(lambda: app[WORK].busy == 0, within=5.0)


# --------------------------------------------------------------------------- protocol hygiene


async def test_a_client_that_hangs_up_mid_body_is_no_server_error(client):
    port = client.server.port
    with capture_logs() as logs:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /v1/gate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            + b'{"config": "version: 1'
        )
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.close()
        await writer.wait_closed()
        await wait_for(lambda: any(e["event"] == "http.request" for e in logs))
    events = [e["event"] for e in logs]
    assert "server.client_disconnected" in events
    assert "server.internal_error" not in events
    gone = next(e for e in logs if e["event"] == "server.client_disconnected")
    assert (gone["path"], gone["log_level"]) == ("/v1/gate", "info")
    access = next(e for e in logs if e["event"] == "http.request")
    assert access["status"] == 499
    metrics = (await call(client, "GET", "/metrics")).text
    assert 'eval_gate_http_requests_total{method="POST",route="/v1/gate",status="499"} 1.0' in (
        metrics
    )
    assert 'status="500"' not in metrics


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "missing_api_key"),
        ("rf key with spaces", "invalid_api_key"),
        ("rf\tkey", "invalid_api_key"),
        ("k" * 513, "invalid_api_key"),
    ],
)
async def test_a_bad_api_key_header_names_the_header(client, standin, value, code):
    headers = {"X-Roboflow-Api-Key": value}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"), headers=headers)
    assert answer.status == 400
    assert answer.json["error"] == code
    message = answer.json["message"]
    assert "X-Roboflow-Api-Key header" in message
    assert "ROBOFLOW_API_KEY contains" not in message
    assert value.strip() == "" or value not in answer.text
    assert standin.count() == 0


async def test_the_api_key_header_twice_is_400(client, standin):
    async with client.post(
        "/v1/gate",
        json=gate_body("e1"),
        headers=[
            ("Authorization", f"Bearer {TOKEN}"),
            ("X-Roboflow-Api-Key", "first-key-0123456789"),
            ("X-Roboflow-Api-Key", "second-key-0123456789"),
        ],
    ) as resp:
        assert resp.status == 400
        text = await resp.text()
    assert json.loads(text)["error"] == "invalid_api_key"
    assert "first-key" not in text and "second-key" not in text


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("wait", "shown"),
    [
        (math.inf, "got inf"),
        (-math.inf, "got -inf"),
        (math.nan, "got nan"),
        (-1, "got -1"),
        (1e9, "got 1e+09"),
        (10**60, "got a number of about 61 digits"),
        ("soon", "got a string"),
    ],
)
def test_the_wait_message_says_what_was_wrong(wait, shown):
    with pytest.raises(ApiError) as caught:
        parse_call({"config": CONFIG, "evals": ["e1"], "wait": wait}, max_wait=20.0)
    problem = caught.value.extra["problems"][0]
    assert problem["field"] == "wait"
    assert "seconds between 0 and 20 (the server's request deadline)" in problem["message"]
    assert problem["message"].endswith(shown)
    assert not problem["message"].endswith("got a number")


def test_an_over_long_id_or_title_is_refused_before_stripping():
    """The spec says maxLength of the value sent: padding cannot smuggle a longer one in."""
    with pytest.raises(ApiError) as caught:
        parse_call(
            {"config": CONFIG, "evals": [" " + "e" * 200], "title": "t" * 200 + " "},
            max_wait=20.0,
        )
    assert [p["field"] for p in caught.value.extra["problems"]][:2] == ["evals[0]", "title"]
