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
DIGEST = "sha256:" + "5e" * 32  # what docker/build-push-action outputs for the pushed index


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    action, pyproject = tmp_path / "action.yml", tmp_path / "pyproject.toml"
    shutil.copy(REPO / "action.yml", action)
    shutil.copy(REPO / "pyproject.toml", pyproject)
    return action, pyproject


def release(files, *, tag: str = f"v{VERSION}", image: str = IMAGE, digest: str = DIGEST):
    action, pyproject = files
    return subprocess.run(
        [
            *(sys.executable, str(SCRIPT), "--tag", tag, "--image", image, "--digest", digest),
            *("--action", str(action), "--pyproject", str(pyproject)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_release_pins_action_yml_to_the_pushed_digest_and_changes_nothing_else(files):
    action, _ = files
    original = action.read_text(encoding="utf-8")
    done = release(files)
    assert done.returncode == 0, done.stderr
    released = action.read_text(encoding="utf-8")
    # The immutable digest, never the tag (which can be pushed again); the version in a comment.
    assert yaml.safe_load(released)["runs"] == {
        "using": "docker",
        "image": f"docker://{IMAGE}@{DIGEST}",
    }
    changed = [
        (a, b) for a, b in zip(original.split("\n"), released.split("\n"), strict=True) if a != b
    ]
    assert changed == [
        ("  image: Dockerfile", f"  image: docker://{IMAGE}@{DIGEST} # {IMAGE}:{VERSION}")
    ]
    assert done.stdout == f"action.yml: image: docker://{IMAGE}@{DIGEST} ({VERSION})\n"


@pytest.mark.parametrize(
    "digest",
    [
        "",  # the image job's output missing
        "sha256:" + "5e" * 31,  # too short
        "sha256:" + "5E" * 32,  # digests are lower case
        "sha512:" + "5e" * 64,
        "5e" * 32,  # no algorithm
        f"sha256:{'5e' * 32}\n  entrypoint: sh",
        "1.2.3",  # a tag is not a digest
    ],
)
def test_a_digest_that_is_not_a_sha256_digest_is_refused(files, digest):
    action, _ = files
    before = action.read_bytes()
    done = release(files, digest=digest)
    assert done.returncode == 2
    assert "is not sha256: and 64 lower-case hex digits" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert action.read_bytes() == before


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


def test_the_release_workflow_pins_the_digest_the_image_job_pushed():
    workflow = yaml.safe_load(
        (REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    )
    jobs = workflow["jobs"]
    assert jobs["image"]["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"
    (build,) = [s for s in jobs["image"]["steps"] if s.get("id") == "build"]
    assert build["uses"].startswith("docker/build-push-action@")
    assert {"image", "scan"} <= set(jobs["action"]["needs"])  # pushed and scanned first
    (step,) = [s for s in jobs["action"]["steps"] if "release_action.py" in s.get("run", "")]
    assert step["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert '--image "$IMAGE" --digest "$DIGEST"' in step["run"]
