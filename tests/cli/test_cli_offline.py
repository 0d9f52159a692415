"""The command line on saved results: verdicts, outputs, errors, exit codes. In process
(`gate.cli.main.run`); the example run and the offline-imports run are real processes (the
entrypoint's exit code; what the process imports)."""

from __future__ import annotations

import json
import shutil
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli_helpers import EXAMPLES, REPO, clean_env, cli, imported_modules, run_cli

CONFIG = str(EXAMPLES / "eval-gate.yml")
RESULTS = str(EXAMPLES / "results")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def det_doc(map50: object = 0.9) -> str:
    split = {"map50": map50, "map50_95": 0.7, "map75": 0.8, "perClass": {}}
    return json.dumps({"taskType": "object-detection-like", "splits": {"test": split}})


def test_example_run_fails_with_exit_1_and_a_report(tmp_path):
    proc = run_cli(
        "check",
        "--config",
        CONFIG,
        "--results",
        RESULTS,
        "--report",
        "out/full.md",
        "--json",
        "out/gate.json",
        "--junit",
        "out/junit.xml",
        cwd=tmp_path,
    )
    assert proc.code == 1, proc.err
    assert "Failed" in proc.out
    assert "rim detector" in proc.out and "road segmenter" in proc.out
    assert "Traceback" not in proc.err
    data = json.loads((tmp_path / "out/gate.json").read_text())
    assert data["verdict"] == "fail"
    failing = {
        (c["eval"], c["metric"], c["class"]) for c in data["checks"] if c["status"] == "fail"
    }
    assert ("roadseg-v5", "iou", "@curb") in failing
    assert ("rimdet-v2", "map50_95", None) in failing  # dropped more than 0.02 vs rimdet-v1
    root = ET.parse(tmp_path / "out/junit.xml").getroot()
    assert int(root.get("failures", "0")) == sum(1 for c in data["checks"] if c["status"] == "fail")
    full = (tmp_path / "out/full.md").read_text()
    assert len(full) >= len(proc.out) - 1000
    # class names from the data are escaped, never raw Markdown/HTML
    assert "<spare>" not in proc.out and "@curb" not in proc.out


def test_the_panels_example_shows_support_a_rare_class_skipped_and_an_interval(tmp_path):
    """examples/panels: saved evaluations carry the panels, so all of it works offline."""
    panels = EXAMPLES / "panels"
    proc = cli(
        "check",
        "--config",
        str(panels / "eval-gate.yml"),
        "--results",
        str(panels / "results"),
        "--json",
        "gate.json",
        cwd=tmp_path,
    )
    assert proc.code == 1, proc.err
    assert "Traceback" not in proc.err
    checks = json.loads((tmp_path / "gate.json").read_text())["checks"]
    by_class = {c["class"]: c for c in checks if c["metric"] == "map50" and c["class"]}
    assert by_class["lug nut `M12`"]["support"] == 439
    assert by_class["lug nut `M12`"]["status"] == "fail"
    assert by_class["<spare> tire"]["status"] == "skip"  # 19 test objects, min_support 25
    assert "19 ground-truth objects" in by_class["<spare> tire"]["message"]
    (precision,) = [c for c in checks if c["metric"] == "precision"]
    assert precision["actual"] == pytest.approx(0.8844, abs=1e-4)  # micro, from the matrix
    (drop,) = [c for c in checks if c["metric"] == "recall" and c["kind"] == "max_drop"]
    assert drop["status"] == "warn"
    assert drop["interval"]["judgement"] == "inconclusive"
    assert drop["interval"]["paired_images"] == 300
    assert "inconclusive" in proc.out
    assert "Support" in proc.out


def test_quiet_prints_nothing_and_keeps_exit_code(tmp_path):
    proc = cli("check", "--config", CONFIG, "--results", RESULTS, "--quiet", cwd=tmp_path)
    assert proc.code == 1
    assert proc.out == ""


def test_fail_on_never_exits_0(tmp_path):
    proc = cli(
        "check", "--config", CONFIG, "--results", RESULTS, "--fail-on", "never", "-q", cwd=tmp_path
    )
    assert proc.code == 0


def _warn_config(tmp_path: Path) -> Path:
    return write(
        tmp_path / "eval-gate.yml",
        "version: 1\nrules:\n  - metric: map50\n    min: 0.95\n    severity: warning\n",
    )


def test_warning_exits_0_unless_fail_on_warning(tmp_path):
    _warn_config(tmp_path)
    write(tmp_path / "cand.json", det_doc())
    proc = cli("check", "--results", "cand.json", "--json", "g.json", cwd=tmp_path)
    assert proc.code == 0, proc.err
    assert json.loads((tmp_path / "g.json").read_text())["verdict"] == "warn"
    proc = cli("check", "--results", "cand.json", "--fail-on", "warning", cwd=tmp_path)
    assert proc.code == 1


def test_pass_exits_0(tmp_path):
    write(tmp_path / "eval-gate.yml", 'version: 1\nrules: ["map50 >= 0.5"]\n')
    write(tmp_path / "cand.json", det_doc())
    proc = cli("check", "--results", "cand.json", cwd=tmp_path)
    assert proc.code == 0, proc.err
    assert "Passed" in proc.out


def test_config_found_under_dot_github(tmp_path):
    (tmp_path / ".github").mkdir()
    write(tmp_path / ".github/eval-gate.yml", 'version: 1\nrules: ["map50 >= 0.95"]\n')
    write(tmp_path / "cand.json", det_doc())
    assert cli("check", "--results", "cand.json", "-q", cwd=tmp_path).code == 1


@pytest.mark.parametrize("bad", ["NaN", "null", '"0.9"', "1.5"])
def test_broken_data_never_passes(tmp_path, bad):
    write(tmp_path / "eval-gate.yml", 'version: 1\nrules: ["map50 >= 0.0"]\n')
    write(tmp_path / "cand.json", det_doc().replace("0.9", bad, 1))
    proc = cli("check", "--results", "cand.json", "--json", "g.json", cwd=tmp_path)
    assert proc.code == 1
    assert json.loads((tmp_path / "g.json").read_text())["verdict"] == "fail"


def test_eval_id_and_baseline_from_the_command_line(tmp_path):
    write(tmp_path / "eval-gate.yml", "version: 1\nrules:\n  - metric: map50\n    max_drop: 0.01\n")
    write(tmp_path / "new.json", det_doc(0.80))
    write(tmp_path / "old.json", det_doc(0.90))
    proc = cli(
        "check",
        "--eval",
        "e1",
        "--baseline",
        "e0",
        "--results",
        "e1=new.json",
        "--results",
        "e0=old.json",
        "--json",
        "g.json",
        cwd=tmp_path,
    )
    assert proc.code == 1, proc.err
    (check,) = json.loads((tmp_path / "g.json").read_text())["checks"]
    assert (check["eval"], check["baseline"], check["actual"]) == ("e1", 0.9, 0.8)


def test_regression_without_baseline_is_exit_2(tmp_path):
    write(tmp_path / "eval-gate.yml", "version: 1\nrules:\n  - metric: map50\n    max_drop: 0.01\n")
    write(tmp_path / "cand.json", det_doc())
    proc = cli("check", "--results", "cand.json", cwd=tmp_path)
    assert proc.code == 2
    assert "eval-gate.yml:3:5" in proc.err
    assert "Traceback" not in proc.err


# --- errors a user can cause: one line, distinct exit code, no traceback -----------------------


def test_config_errors_are_located_and_all_reported(tmp_path):
    write(
        tmp_path / "eval-gate.yml",
        "version: 1\nrules:\n  - metric: map50-95\n    min: 0.7\n  - metric: miou\n"
        "    classes: '*'\n    min: 2\n",
    )
    proc = cli("validate", cwd=tmp_path)
    assert proc.code == 2
    assert "Traceback" not in proc.err
    assert "eval-gate.yml:3:13" in proc.err and "did you mean 'map50_95'" in proc.err
    assert len([ln for ln in proc.err.splitlines() if "eval-gate.yml:" in ln]) >= 3


def test_the_config_is_named_as_the_user_knows_it_from_run_s_working_directory(tmp_path):
    # In process: run()'s cwd is tmp_path, the process's is not. The report's rule locations
    # and the config's problems name the file relative to run()'s cwd (the core reads no
    # working directory of its own), and whole when it is outside it.
    (tmp_path / "sub").mkdir()
    shutil.copy(EXAMPLES / "eval-gate.yml", tmp_path / "sub" / "eval-gate.yml")
    results = str(EXAMPLES / "results")
    inside = cli("check", "--config", "sub/eval-gate.yml", "--results", results, cwd=tmp_path)
    assert inside.code == 1
    assert "`sub/eval-gate.yml:31`" in inside.out
    assert str(tmp_path) not in inside.out
    outside = cli(
        "check", "--config", str(tmp_path / "sub" / "eval-gate.yml"), "--results", results, cwd=REPO
    )
    assert f"`{(tmp_path / 'sub' / 'eval-gate.yml').as_posix().lstrip('/')}" not in outside.out
    assert f"`{tmp_path.as_posix()}/sub/eval-gate.yml:31`" in outside.out
    (tmp_path / "sub" / "bad.yml").write_text("version: 1\nrules:\n  - metric: nope\n    min: 1\n")
    invalid = cli("validate", "--config", "sub/bad.yml", cwd=tmp_path)
    assert invalid.code == 2
    assert invalid.err.startswith("eval-gate: error: sub/bad.yml:3:")


def test_validate_accepts_the_example():
    proc = cli("validate", "--config", CONFIG)
    assert proc.code == 0
    assert "valid" in proc.out


def test_schema_command_prints_the_committed_schema():
    proc = cli("schema")
    assert proc.code == 0
    assert json.loads(proc.out) == json.loads((REPO / "schema/eval-gate.schema.json").read_text())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["check", "--bogus"], "unrecognized arguments"),
        (["check", "--concurrency", "0"], "--concurrency"),
        (["check", "--wait", "-1"], "--wait"),
        (["check", "--config", "nope.yml"], "nope.yml not found"),
        (["check"], "ROBOFLOW_API_KEY"),
        (["check", "--results", "missing.json"], "missing.json not found"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, args, needle):
    write(tmp_path / "eval-gate.yml", 'version: 1\nrules: ["map50 >= 0.5"]\nevals: [abc]\n')
    proc = cli(*args, cwd=tmp_path)
    assert proc.code == 2, proc
    assert needle in proc.err
    assert "Traceback" not in proc.err
    assert len(proc.err.strip().splitlines()) == 1


def test_invalid_results_json_is_located(tmp_path):
    write(tmp_path / "eval-gate.yml", 'version: 1\nrules: ["map50 >= 0.5"]\n')
    write(tmp_path / "cand.json", '{"taskType": "object-detection-like",\n "splits": {,}}')
    proc = cli("check", "--results", "cand.json", cwd=tmp_path)
    assert proc.code == 2
    assert "cand.json:2:" in proc.err


def test_unreadable_results_document_is_exit_3(tmp_path):
    write(tmp_path / "eval-gate.yml", 'version: 1\nrules: ["map50 >= 0.5"]\n')
    write(tmp_path / "cand.json", '{"taskType": "classification", "splits": {}}')
    proc = cli("check", "--results", "cand.json", cwd=tmp_path)
    assert proc.code == 3
    assert "classification" in proc.err


def test_auto_baseline_for_a_saved_eval_needs_a_named_baseline(tmp_path):
    # A key would not help: an eval read from a file is never looked up on Roboflow.
    write(tmp_path / "eval-gate.yml", "version: 1\nrules:\n  - metric: map50\n    max_drop: 0.01\n")
    write(tmp_path / "cand.json", det_doc())
    proc = cli("check", "--results", "cand.json", "--baseline", "auto", cwd=tmp_path)
    assert proc.code == 2
    assert "comes from a saved results file" in proc.err
    assert "name the baseline's id" in proc.err


def test_json_log_format_on_errors(tmp_path):
    proc = cli("check", "--log-format", "json", "--config", "nope.yml", cwd=tmp_path)
    assert proc.code == 2
    event = json.loads(proc.err.strip().splitlines()[-1])
    assert event["level"] == "error" and "nope.yml" in event["message"]


def test_installed_package_runs_from_anywhere(tmp_path):
    # The wheel carries its templates: render from a folder that is not the checkout.
    shutil.copy(EXAMPLES / "eval-gate.yml", tmp_path / "eval-gate.yml")
    proc = cli("check", "--results", RESULTS, "-q", "--report", "r.md", cwd=tmp_path)
    assert proc.code == 1
    assert (tmp_path / "r.md").read_text().strip()


# --- offline means offline ---------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_documented_offline_runs_attempt_no_connection_with_a_key_workspace_and_api_url(
    tmp_path,
):
    """The README's Quickstart and a per-class config on a plain map-results file, run with
    ROBOFLOW_API_KEY, a workspace and an API URL on a closed port in the environment: the same
    verdict, exit code, report and JSON as without them, and the Roboflow client (what would
    connect) is never even imported. Used to retry against the port and exit 2 (no workspace)."""
    write(
        tmp_path / "per-class.yml",
        'version: 1\nworkspace: acme-vision\nrules:\n  - {metric: map50, classes: "*", min: 0.5}\n',
    )
    write(
        tmp_path / "cand.json",
        det_doc().replace('"perClass": {}', '"perClass": {"car": {"map50": 0.9}}'),
    )
    runs = [
        ("--config", CONFIG, "--results", RESULTS),  # the README's Quickstart
        ("--config", str(tmp_path / "per-class.yml"), "--results", str(tmp_path / "cand.json")),
    ]
    online = {
        "ROBOFLOW_API_KEY": "rf_offline_process_key_0123456789",
        "ROBOFLOW_WORKSPACE": "acme-vision",  # the Quickstart config's own
        "ROBOFLOW_API_URL": f"http://127.0.0.1:{closed_port()}",
        "PYTHONPROFILEIMPORTTIME": "1",
    }
    for args, code in zip(runs, (1, 0), strict=True):
        without = run_cli("check", *args, "--json", "off.json", cwd=tmp_path)
        with_env = run_cli(
            "check", *args, "--json", "on.json", cwd=tmp_path, env=clean_env(**online)
        )
        assert without.code == code, without.err
        assert with_env.code == code, with_env.err[-2000:]
        assert with_env.out == without.out
        off = json.loads((tmp_path / "off.json").read_text())
        assert json.loads((tmp_path / "on.json").read_text()) == off
        modules = imported_modules(with_env.err)
        assert "gate.cli.main" in modules  # the listing is real
        assert {"aiohttp", "gate.roboflow.client"} & modules == set()
        assert "roboflow.retry" not in with_env.err
