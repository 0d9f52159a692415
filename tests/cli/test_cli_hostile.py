"""Hostile input through the real command line: never a pass, never a stall, never a traceback.

Each case runs the command line in process (`gate.cli.main.run`, offline on local files, or
against the stand-in Roboflow API on 127.0.0.1) and checks the exit code, that stderr is one
line (or a capped list) saying what and where, and that nothing passed that should not. Real
processes where the process is the point: a config on stdin, and the two bounded-cost runs on a
megabyte of YAML (timed as a user would see them, without this process's heap in the way).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path

import pytest

from gate.cli.settings import build_settings
from gate.core.errors import MAX_PROBLEMS, UsageError
from gate.local.files import MAX_CONFIG_BYTES, MAX_RESULTS_BYTES, MAX_RESULTS_FILES
from gate.sleeping import sleepless
from tests.cli_helpers import Proc, clean_env, cli, cli_async, run_cli
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results

DUPLICATE_VALUE = (
    '{"taskType": "object-detection-like", "splits": {"test":\n'
    '  {"map50": "garbage", "map50": 0.924}}}'
)
DUPLICATE_TASK = (
    '{"taskType": "semantic-segmentation", "taskType": "object-detection-like", '
    '"splits": {"test": {"map50": 0.924}}}'
)
CONFIG = 'version: 1\nworkspace: ws\nrules: ["map50 >= 0.5"]\n'
GOOD = {
    "taskType": "object-detection-like",
    "splits": {"test": {"map50": 0.924, "map50_95": 0.7, "map75": 0.8, "perClass": {}}},
}
KEY = "rf_SECRET_key_0123456789"


def one_error_line(proc: Proc) -> str:
    assert "Traceback" not in proc.err
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1, proc.err
    assert lines[0].startswith("eval-gate: error: ")
    return lines[0]


def gate_files(tmp_path: Path, *args: str, config: str = CONFIG) -> Proc:
    (tmp_path / "eval-gate.yml").write_text(config, encoding="utf-8")
    return cli("check", "-q", *args, cwd=tmp_path)


# --------------------------------------------------------------------------- results files


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (DUPLICATE_VALUE, "cand.json:2:24: duplicate key 'map50' in one object"),
        (DUPLICATE_TASK, "cand.json:1:39: duplicate key 'taskType' in one object"),
        (
            '{"taskType": "object-detection-like", "splits": {"test": {"map50": '
            + "1" * 5000
            + "}}}",
            "cand.json:1:68: a number with 5,000 digits (at most 100 are accepted)",
        ),
        ("[" * 100_000 + "]" * 100_000, "cand.json:1:65: nested too deeply"),
        ('{"taskType": "caf\udce9"}', "cand.json:1:18: not UTF-8 (byte 0xE9 at byte offset 17)"),
    ],
    ids=["duplicate-value", "duplicate-task-type", "5000-digit-int", "deep", "not-utf8"],
)
def test_a_results_file_json_refuses_is_exit_2_naming_file_and_place(tmp_path, document, says):
    (tmp_path / "cand.json").write_bytes(document.encode("utf-8", "surrogateescape"))
    proc = gate_files(tmp_path, "--results", "cand.json")
    assert proc.code == 2, proc
    line = one_error_line(proc)
    assert says in line
    assert "save the map-results response as it was returned" in line


def test_nan_in_a_results_file_is_still_a_failing_value_not_a_refused_file(tmp_path):
    document = json.dumps(GOOD).replace("0.924", "NaN")
    (tmp_path / "cand.json").write_text(document)
    proc = gate_files(tmp_path, "--results", "cand.json", "--json", "g.json")
    assert proc.code == 1, proc
    assert json.loads((tmp_path / "g.json").read_text())["verdict"] == "fail"


def test_a_results_file_over_the_cap_is_refused_after_reading_one_byte_more(tmp_path):
    big = tmp_path / "big.json"
    with big.open("wb") as file:
        file.truncate(MAX_RESULTS_BYTES + 1)  # sparse: costs no disk
    proc = gate_files(tmp_path, "--results", "big.json")
    assert proc.code == 2
    line = one_error_line(proc)
    assert "results file" in line and "big.json is larger than 32 MiB" in line


def test_results_from_dev_zero_is_refused_not_read_forever(tmp_path):
    started = time.monotonic()
    proc = gate_files(tmp_path, "--results", "cand=/dev/zero")
    assert proc.code == 2
    assert "/dev/zero is larger than 32 MiB" in one_error_line(proc)
    assert time.monotonic() - started < 15


def test_results_through_a_fifo_are_read(tmp_path):
    fifo = tmp_path / "cand.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with fifo.open("w") as pipe:
            pipe.write(json.dumps(GOOD))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    proc = gate_files(tmp_path, "--results", f"cand={fifo}")
    thread.join(timeout=10)
    assert proc.code == 0, proc


def test_a_results_folder_with_too_many_files_is_refused_unsorted(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(MAX_RESULTS_FILES + 1):
        (folder / f"e{index}.json").touch()
    proc = gate_files(tmp_path, "--results", "many")
    assert proc.code == 2
    assert f"more than {MAX_RESULTS_FILES:,} .json files" in one_error_line(proc)


def test_a_results_path_that_is_a_folder_given_an_id_says_so(tmp_path):
    (tmp_path / "folder").mkdir()
    proc = gate_files(tmp_path, "--results", "cand=folder")
    assert proc.code == 2
    assert "folder is a directory, not a file; check --results" in one_error_line(proc)


# --------------------------------------------------------------------------- config files


def test_a_config_path_that_is_a_directory_says_so(tmp_path):
    (tmp_path / "configs").mkdir()
    proc = cli("validate", "--config", "configs", cwd=tmp_path)
    assert proc.code == 2
    line = one_error_line(proc)
    assert "configs is a directory, not a file" in line
    assert "not found" not in line


def test_a_config_that_is_not_utf8_says_where(tmp_path):
    (tmp_path / "c.yml").write_bytes(b'version: 1\nrules:\n  - "map50 >= 0.5" # caf\xe9\n')
    proc = cli("validate", "--config", "c.yml", cwd=tmp_path)
    assert proc.code == 2
    line = one_error_line(proc)
    assert "c.yml:3:25: not UTF-8 (byte 0xE9 at byte offset 42); save the config as UTF-8" in line
    assert "UnicodeDecodeError" not in line


def test_a_config_on_stdin_is_read(tmp_path):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    done = subprocess.run(
        [sys.executable, "-m", "gate", "validate", "--config", "/dev/stdin"],
        input=CONFIG,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "/dev/stdin: valid (1 rules" in done.stdout


@pytest.mark.parametrize("source", ["/dev/zero", "big.yml"])
def test_a_config_over_1_mib_is_refused(tmp_path, source):
    (tmp_path / "big.yml").write_text("# " + "x" * MAX_CONFIG_BYTES + "\nversion: 1\n")
    proc = cli("validate", "--config", source, cwd=tmp_path)
    assert proc.code == 2
    assert f"{source} is larger than 1 MiB, the limit for a config file" in one_error_line(proc)


@pytest.mark.parametrize(
    ("yaml_text", "says"),
    [
        ("[" * 100_000, "c.yml:1:"),
        ("version: " + "1" * 5000 + "\nrules: ['map50 >= 0.5']\n", "an integer of more than 100"),
        ("version: 0x" + "f" * 5000 + "\nrules: ['map50 >= 0.5']\n", "an integer of more than 100"),
        ("version: !!bool maybe\nrules: ['map50 >= 0.5']\n", "version must be the integer 1"),
        ("version: !!int +\nrules: ['map50 >= 0.5']\n", "version must be the integer 1"),
        ("version: 1\nrules: [{metric: map50, min: !!float ''}]\n", "min must be a number"),
    ],
    ids=["deep", "5000-digit-int", "5000-hex-digits", "bad-bool-tag", "bad-int-tag", "empty-float"],
)
def test_hostile_yaml_is_exit_2_in_one_line(tmp_path, yaml_text, says):
    (tmp_path / "c.yml").write_text(yaml_text)
    proc = cli("validate", "--config", "c.yml", cwd=tmp_path)
    assert proc.code == 2, proc
    assert says in one_error_line(proc)


def test_a_megabyte_of_invalid_rules_prints_50_problems_and_a_count_quickly(tmp_path):
    rules = []
    size = 0
    index = 0
    while size < MAX_CONFIG_BYTES - 200:
        rule = f"  - {{metric: map5{index % 10}x{index}, min: 7{index % 10}, bogus{index}: 1}}\n"
        rules.append(rule)
        size += len(rule)
        index += 1
    (tmp_path / "c.yml").write_text("version: 1\nrules:\n" + "".join(rules))
    started = time.monotonic()
    proc = run_cli("validate", "--config", "c.yml", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert proc.code == 2
    lines = proc.err.strip().splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-1] == f"eval-gate: error: ... and {3 * index - MAX_PROBLEMS:,} more problems"
    assert lines[0].startswith("eval-gate: error: c.yml:3:")
    assert "did you mean" in proc.err  # suggestions are still made for the problems shown
    assert elapsed < 15


def test_yaml_aliases_cannot_multiply_the_work(tmp_path):
    names = ", ".join(f"c{i}" for i in range(20_000))
    text = (
        "version: 1\nrules:\n"
        f"  - &r {{metric: iou, classes: [{names}], min: 0.5}}\n" + "  - *r\n" * 100_000
    )
    (tmp_path / "c.yml").write_text(text)
    started = time.monotonic()
    proc = run_cli("validate", "--config", "c.yml", cwd=tmp_path)
    assert proc.code == 2
    assert "expands to more than" in one_error_line(proc)
    assert time.monotonic() - started < 15


def test_a_few_aliases_are_fine(tmp_path):
    text = (
        "version: 1\nrules:\n"
        "  - {metric: iou, classes: &cls [road, curb], min: 0.5}\n"
        "  - {metric: iou, classes: *cls, max: 0.99}\n"
    )
    (tmp_path / "c.yml").write_text(text)
    proc = cli("validate", "--config", "c.yml", cwd=tmp_path)
    assert proc.code == 0, proc.err


# --------------------------------------------------------------------------- numeric flags


SECONDS_FLAGS = ("--wait", "--deadline", "--poll-interval", "--timeout")


@pytest.mark.parametrize(
    ("flag", "value"), [(flag, "nan") for flag in SECONDS_FLAGS] + [("--wait", "inf")]
)
def test_non_finite_seconds_are_usage_errors(tmp_path, flag, value):
    # `--wait nan` used to end as "overall deadline of nan s reached" (exit 3), `--wait inf`
    # as a gate that could wait forever.
    (tmp_path / "cand.json").write_text(json.dumps(GOOD))
    proc = gate_files(tmp_path, "--results", "cand.json", f"{flag}={value}")
    assert proc.code == 2, proc
    line = one_error_line(proc)
    assert f"{flag} must be a finite number of seconds, got {value}" in line


@pytest.mark.parametrize("flag", SECONDS_FLAGS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_every_seconds_setting_refuses_every_non_finite_value(tmp_path, flag, value):
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    name = flag.removeprefix("--").replace("-", "_")
    with pytest.raises(UsageError, match=f"^{flag} must be a finite number of seconds"):
        build_settings(environ={}, cwd=tmp_path, **{name: value})


# --------------------------------------------------------------------------- the API URL


def test_a_plain_http_api_url_off_loopback_warns_once(tmp_path):
    (tmp_path / "cand.json").write_text(json.dumps(GOOD))
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    env = clean_env(ROBOFLOW_API_KEY=KEY)
    args = ("check", "-q", "--results", "cand.json", "--log-level", "warning")
    proc = cli(*args, "--api-url", "http://roboflow.example.com", cwd=tmp_path, env=env)
    assert proc.code == 0, proc.err
    warning = (
        "eval-gate: warning: --api-url is http://roboflow.example.com: the Roboflow API key "
        "will be sent unencrypted; use https:// (plain http is only safe to a loopback address "
        "such as 127.0.0.1)"
    )
    assert proc.err.strip().splitlines() == [warning]
    for quiet_url in ("https://roboflow.example.com", "http://127.0.0.1:9", "http://[::1]:9"):
        proc = cli(*args, "--api-url", quiet_url, cwd=tmp_path, env=env)
        assert proc.code == 0
        assert proc.err == "", (quiet_url, proc.err)


# --------------------------------------------------------------------------- upstream


@pytest.fixture
def standin() -> RoboflowStandIn:
    return RoboflowStandIn(api_key=KEY, workspace="ws")


@pytest.fixture
async def api_url(aiohttp_server, standin) -> str:
    server = await aiohttp_server(standin.app())
    return str(server.make_url("")).rstrip("/")


async def gate_online(tmp_path: Path, api_url: str, *args: str) -> Proc:
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    env = clean_env(ROBOFLOW_API_KEY=KEY, ROBOFLOW_API_URL=api_url)
    proc = await cli_async("check", "-q", *args, cwd=tmp_path, env=env)
    assert KEY not in proc.out + proc.err
    assert "Traceback" not in proc.err
    return proc


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            DUPLICATE_VALUE.replace("\n", "").encode(),
            "duplicate key 'map50' in one object at line 1 column 80",
        ),
        (DUPLICATE_TASK.encode(), "duplicate key 'taskType' in one object at line 1 column 39"),
        (b'{"taskType": ' + b"7" * 5000 + b"}", "a number with 5,000 digits"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["duplicate-value", "duplicate-task-type", "5000-digit-int", "deep"],
)
async def test_an_answer_json_refuses_is_exit_3_after_one_request(
    tmp_path, standin, api_url, body, says
):
    standin.add_eval("e1", map_results=detection_results(["car"]))
    standin.script("map-results", [Scripted(200, body)] * 4)
    proc = await gate_online(tmp_path, api_url, "--eval", "e1")
    assert proc.code == 3, proc
    line = one_error_line(proc)
    assert says in line
    assert "malformed JSON" in line and "not retried" in line
    assert standin.count("map-results") == 1  # a whole, refused answer is final


async def test_a_poll_interval_longer_than_the_wait_is_cut_to_the_wait(tmp_path, standin, api_url):
    standin.add_eval("e1", status="running")
    with sleepless() as waits:  # the fake clock: a wait is recorded and skipped
        proc = await gate_online(
            tmp_path, api_url, "--eval", "e1", "--wait", "1", "--poll-interval", "3600"
        )
    assert proc.code == 3, proc
    assert "still running after waiting 1 s" in proc.err
    (waited,) = waits  # one wait, cut to what was left of the 1 s: not an hour
    assert 0 < waited <= 1.0
    assert standin.count("map-results") == 2  # one look, one wait of 1 s, one last look
