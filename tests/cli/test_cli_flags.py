"""The command line's flags come from one declaration (gate.cli.settings.FLAGS): the parser,
--help and the reader that collects every problem before one error line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from gate.cli.main import run
from gate.cli.settings import FLAGS, flag_label, log_flags
from gate.local.options import Option, read_options
from gate.server.settings import SETTINGS

CONFIG = "version: 1\nrules: ['map50 >= 0.5']\n"


def cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(args), environ={}, cwd=cwd, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_every_declared_flag_is_in_check_help(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        cli("check", "--help", cwd=tmp_path)
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in (*FLAGS, *log_flags()):
        assert option.name in text, option.name
        shown = option.shown().replace("`", "")
        if shown != "—":
            assert f"(default: {shown})" in text, option.name


def test_serve_help_lists_every_service_setting(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli("serve", "--help", cwd=tmp_path)
    text = " ".join(capsys.readouterr().out.split())
    for option in SETTINGS:
        assert option.name in text, option.name


def test_every_flag_problem_is_reported_in_one_line(tmp_path):
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    code, _, err = cli(
        "check",
        "--wait=soon",
        "--timeout=nan",
        "--concurrency=0",
        "--max-chars=10",
        "--fail-on=sometimes",
        cwd=tmp_path,
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    parts = lines[0].removeprefix("eval-gate: error: ").split("; ")
    assert parts == [
        "--concurrency must be >= 1, got 0",
        "--timeout must be a finite number of seconds, got nan",
        "--wait must be a number of seconds, got 'soon'",
        "--max-chars must be at least 1000, got 10",
        "--fail-on must be one of error, warning, never, got 'sometimes'",
    ]


def test_a_bad_log_format_is_a_usage_error(tmp_path):
    code, _, err = cli("check", "--log-format", "xml", cwd=tmp_path)
    assert code == 2
    assert "--log-format must be one of console, json, got 'xml'" in err


def test_labels_name_the_value():
    labels = {o.name: flag_label(o) for o in FLAGS}
    assert labels["--baseline"] == "`--baseline ID|auto|champion`"
    assert labels["--quiet"] == "`--quiet`, `-q`"


def test_the_reader_collects_every_problem_and_keeps_the_defaults():
    def number(raw: str) -> int:
        return int(raw)

    options = (
        Option("a", "a", number, 1, "a", check=lambda v: "must be > 0" if v <= 0 else None),
        Option("b", "b", number, 2, "b"),
        Option("c", "c", number, 3, "c"),
    )
    raw = {"a": "0", "b": "x"}
    read = read_options(options, raw.get, prefix="input ")
    assert dict(read.values) == {"a": 1, "b": 2, "c": 3}
    assert read.problems[0] == "input a must be > 0"
    assert read.problems[1].startswith("input b invalid literal")


def test_the_offline_check_imports_neither_aiohttp_nor_another_face(tmp_path):
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    (tmp_path / "cand.json").write_text("{}")
    code = (
        "import sys; from gate.cli.main import main; main(['check', '-q', '--results', "
        "'cand.json']); "
        "bad = sorted(m for m in sys.modules if m == 'aiohttp' or "
        "m.startswith(('gate.server', 'gate.action'))); print(bad)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


@pytest.mark.parametrize("value", ["0.0001", "0.5", "0.999"])
def test_the_poll_interval_has_a_floor_of_one_second(tmp_path, value):
    # `--poll-interval 0.0001` sent 2,309 requests in 3 s.
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    code, _, err = cli("check", "--eval", "e1", f"--poll-interval={value}", cwd=tmp_path)
    assert code == 2
    assert err.strip().splitlines() == [
        f"eval-gate: error: --poll-interval must be at least 1 s, got {float(value):g}"
    ]
