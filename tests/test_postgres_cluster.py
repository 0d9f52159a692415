"""The test cluster's `stop` removes only a directory its `start` made: `stop ""` (an unset
variable in a shell trap) once meant the working directory and removed the whole checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import postgres_cluster

SCRIPT = Path(postgres_cluster.__file__)


@pytest.mark.parametrize("given", ["", ".", "relative/eval-gate-pg-x"])
def test_stop_refuses_a_relative_directory(given, tmp_path: Path):
    (tmp_path / "keep").write_text("x")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "stop", given],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "nothing removed" in done.stderr
    assert (tmp_path / "keep").read_text() == "x"


def test_stop_refuses_a_directory_start_did_not_make(tmp_path: Path):
    (tmp_path / "keep").write_text("x")
    with pytest.raises(ValueError, match="not a cluster directory"):
        postgres_cluster.stop(tmp_path)
    assert (tmp_path / "keep").exists()


def test_stop_removes_a_cluster_directory(tmp_path: Path):
    made = tmp_path / f"{postgres_cluster.PREFIX}abc"
    (made / "data").mkdir(parents=True)
    postgres_cluster.stop(made)  # no postmaster.pid: nothing to stop, only to remove
    assert not made.exists()
