"""`eval-gate validate` with several config files (as pre-commit passes them), and the
pre-commit hook of .pre-commit-hooks.yaml run the way pre-commit runs it: its `files` and
`exclude` patterns choose the files, its entry gets them appended."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib

import yaml

from tests.cli_helpers import clean_env, cli
from tests.paths import REPO

HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
GOOD = 'version: 1\nrules:\n  - "map50 >= 0.5"\n'
BAD = 'version: 1\nrules:\n  - "map50 >= 2"\n'


def test_each_config_named_is_checked_and_the_first_failure_sets_the_exit_status(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(BAD)
    (tmp_path / "c.yml").write_text(GOOD)
    done = cli("validate", "a.yml", "b.yml", "c.yml", "missing.yml", cwd=tmp_path)
    assert done.code == 2
    assert done.out.splitlines() == [
        f"{tmp_path / 'a.yml'}: valid (1 rules, 0 evals)",
        f"{tmp_path / 'c.yml'}: valid (1 rules, 0 evals)",
    ]
    errors = done.err.splitlines()
    assert len(errors) == 2
    assert "b.yml:3:" in errors[0] and "did you mean 0.02" in errors[0]
    assert "missing.yml not found" in errors[1]
    assert "Traceback" not in done.err


def test_config_and_positional_files_are_all_checked(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(GOOD)
    done = cli("validate", "--config", "a.yml", "b.yml", cwd=tmp_path)
    assert done.code == 0, done.err
    assert len(done.out.splitlines()) == 2


def test_without_a_file_the_default_config_is_checked_as_before(tmp_path):
    (tmp_path / "eval-gate.yml").write_text(GOOD)
    done = cli("validate", cwd=tmp_path)
    assert done.code == 0, done.err
    assert done.out == f"{tmp_path / 'eval-gate.yml'}: valid (1 rules, 0 evals)\n"


# --- the pre-commit hook ---------------------------------------------------------------------


def hook() -> dict:
    (only,) = HOOKS
    return only


def chosen(paths: list[str]) -> list[str]:
    """The files pre-commit would pass: `files` matches and `exclude` does not (re.search)."""
    spec = hook()
    return [p for p in paths if re.search(spec["files"], p) and not re.search(spec["exclude"], p)]


def test_the_hook_is_a_python_hook_running_eval_gate_validate_on_the_files():
    spec = hook()
    assert spec["id"] == "eval-gate-validate"
    assert spec["language"] == "python"  # pre-commit pip-installs this repository
    assert spec["pass_filenames"] is True
    assert shlex.split(spec["entry"]) == ["eval-gate", "validate"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert scripts["eval-gate"] == "gate.cli.main:main"


def test_the_hook_picks_gate_configs_and_not_workflows_or_other_yaml():
    paths = [
        "eval-gate.yml",
        ".github/eval-gate.yml",
        ".github/eval-gate-segmenter.yaml",
        "gates/eval-gate.detector.yml",
        ".github/workflows/eval-gate.yml",  # the Action's workflow, not a config
        "examples/workflows/eval-gate-multi.yml",
        "docker-compose.yml",
        "my-eval-gate.yml",
        "schema/eval-gate.schema.json",
    ]
    assert chosen(paths) == [
        "eval-gate.yml",
        ".github/eval-gate.yml",
        ".github/eval-gate-segmenter.yaml",
        "gates/eval-gate.detector.yml",
    ]


def test_the_hook_on_this_repository_passes_its_configs_and_fails_a_bad_one(tmp_path):
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    configs = chosen(tracked)
    assert "examples/eval-gate.yml" in configs
    entry = shlex.split(hook()["entry"])
    command = [sys.executable, "-m", "gate", *entry[1:]]  # the `eval-gate` console script
    done = subprocess.run(
        [*command, *configs], cwd=REPO, env=clean_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(configs)

    (tmp_path / "eval-gate.yml").write_text(BAD)
    done = subprocess.run(
        [*command, *chosen(["eval-gate.yml"])],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "eval-gate.yml:3:" in done.stderr
