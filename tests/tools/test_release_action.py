"""tools/release_action.py, as the release workflow runs it: a subprocess on copies of the
repository's own action.yml and pyproject.toml."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.paths import REPO

SCRIPT = REPO / "tools" / "release_action.py"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
IMAGE = "ghcr.io/acme/eval-gate"


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    action, pyproject = tmp_path / "action.yml", tmp_path / "pyproject.toml"
    shutil.copy(REPO / "action.yml", action)
    shutil.copy(REPO / "pyproject.toml", pyproject)
    return action, pyproject


def release(files, *, tag: str = f"v{VERSION}", image: str = IMAGE):
    action, pyproject = files
    return subprocess.run(
        [
            *(sys.executable, str(SCRIPT), "--tag", tag, "--image", image),
            *("--action", str(action), "--pyproject", str(pyproject)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_release_points_action_yml_at_the_exact_version_and_changes_nothing_else(files):
    action, _ = files
    original = action.read_text(encoding="utf-8")
    done = release(files)
    assert done.returncode == 0, done.stderr
    released = action.read_text(encoding="utf-8")
    assert yaml.safe_load(released)["runs"] == {
        "using": "docker",
        "image": f"docker://{IMAGE}:{VERSION}",
    }
    changed = [
        (a, b) for a, b in zip(original.split("\n"), released.split("\n"), strict=True) if a != b
    ]
    assert changed == [("  image: Dockerfile", f"  image: docker://{IMAGE}:{VERSION}")]
    assert done.stdout == f"action.yml: image: docker://{IMAGE}:{VERSION}\n"


def test_a_released_action_yml_is_not_rewritten_twice(files):
    assert release(files).returncode == 0
    done = release(files)
    assert done.returncode == 2
    assert "already released?" in done.stderr


@pytest.mark.parametrize(
    ("tag", "why"),
    [
        ("1.2.3", "not a release tag"),
        ("v1.2", "not a release tag"),
        ("v1.2.3-rc1", "not a release tag"),
        ("v01.2.3", "not a release tag"),
        ("v999.0.0", "does not match pyproject.toml's version"),
    ],
)
def test_a_tag_that_is_not_this_version_is_refused(files, tag, why):
    action, _ = files
    before = action.read_bytes()
    done = release(files, tag=tag)
    assert done.returncode == 2
    assert why in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert action.read_bytes() == before


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/Acme/eval-gate",  # GHCR names are lower case
        "ghcr.io/acme/eval-gate:1.2.3",  # the tag is the script's to add
        "ghcr.io/acme/eval-gate@sha256:" + "0" * 64,
        "docker.io/acme/eval-gate",
        "ghcr.io/acme",
        "ghcr.io/acme/eval-gate\n  entrypoint: sh",
    ],
)
def test_an_image_that_is_not_a_plain_ghcr_name_is_refused(files, image):
    action, _ = files
    before = action.read_bytes()
    done = release(files, image=image)
    assert done.returncode == 2
    assert "ghcr.io/OWNER/NAME" in done.stderr
    assert action.read_bytes() == before


def test_an_image_line_outside_runs_is_refused(files):
    action, _ = files
    text = action.read_text(encoding="utf-8")
    # `image: Dockerfile` moved out of runs (and runs' own made unrecognisable to the line match)
    text = text.replace("  image: Dockerfile", "  image:   Dockerfile")
    action.write_text(text + "x-note:\n  image: Dockerfile\n", encoding="utf-8")
    done = release(files)
    assert done.returncode == 2
    assert "changed beyond runs.image" in done.stderr


def test_two_image_lines_are_refused(files):
    action, _ = files
    action.write_text(
        action.read_text(encoding="utf-8") + "# example:\n  image: Dockerfile\n", encoding="utf-8"
    )
    done = release(files)
    assert done.returncode == 2
    assert "has 2 lines 'image: Dockerfile'" in done.stderr


def test_the_release_workflow_runs_the_script_with_the_pushed_tag():
    workflow = (REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert re.search(r"python tools/release_action\.py\s+--tag \"\$TAG\"", workflow)
