"""The project's own workflows (.github/workflows) and the composite action: every third-party
action pinned by commit SHA with its version beside it, the least permissions, and the release
pipeline doing what the README promises (multi-arch image with provenance and SBOM, exact and
major tags, a scan before anything is published, trusted publishing, the action.yml rewrite)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.paths import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+(\.\d+){1,2}$")
RELEASE = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text(encoding="utf-8"))


def uses_lines(path: Path) -> list[str]:
    return [
        line.strip().removeprefix("- ")
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*(- )?uses:", line)
    ]


@pytest.mark.parametrize(
    "path", [*WORKFLOWS, REPO / "composite" / "action.yml"], ids=lambda p: p.name
)
def test_every_action_used_is_local_or_pinned_by_sha_with_its_version(path):
    lines = uses_lines(path)
    assert lines, path
    for line in lines:
        assert line.startswith("uses: ./") or PINNED.fullmatch(line), f"{path.name}: {line}"


def test_the_same_action_is_pinned_to_the_same_commit_everywhere():
    pins: dict[str, set[str]] = {}
    for path in [*WORKFLOWS, REPO / "composite" / "action.yml"]:
        for line in uses_lines(path):
            if match := PINNED.fullmatch(line):
                pins.setdefault(match.group(1), set()).add(match.group(2))
    assert {name: shas for name, shas in pins.items() if len(shas) > 1} == {}


def test_workflows_grant_nothing_by_default_beyond_reading():
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert workflow["permissions"] in ({}, {"contents": "read"}), path.name


def jobs() -> dict:
    return RELEASE["jobs"]


def step_using(job: str, action: str) -> dict:
    (step,) = [s for s in jobs()[job]["steps"] if s.get("uses", "").startswith(action + "@")]
    return step


def test_the_release_runs_on_version_tags_only():
    assert RELEASE[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}  # yaml reads `on` as True


def test_the_image_is_multi_arch_with_provenance_sbom_and_exact_and_major_tags():
    build = step_using("image", "docker/build-push-action")["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert build["provenance"] == "mode=max"
    assert build["sbom"] is True
    assert build["push"] is True
    image = "${{ needs.prepare.outputs.image }}"
    assert build["tags"].splitlines() == [
        f"{image}:${{{{ needs.prepare.outputs.version }}}}",
        f"{image}:${{{{ needs.prepare.outputs.major }}}}",
    ]
    assert jobs()["image"]["permissions"] == {"contents": "read", "packages": "write"}


def test_the_pushed_image_is_scanned_by_digest_before_pypi_and_the_action_release():
    scan = step_using("scan", "aquasecurity/trivy-action")["with"]
    assert scan["image-ref"].endswith("@${{ needs.image.outputs.digest }}")
    assert scan["exit-code"] == "1"
    assert "scan" in jobs()["pypi"]["needs"]
    assert "scan" in jobs()["action"]["needs"]


def test_pypi_is_trusted_publishing_from_the_built_artifact_only():
    pypi = jobs()["pypi"]
    assert pypi["permissions"] == {"id-token": "write"}
    assert pypi["environment"]["name"] == "pypi"
    publish = step_using("pypi", "pypa/gh-action-pypi-publish")
    assert "with" not in publish  # no password: the OIDC token
    dist = "\n".join(s.get("run", "") for s in jobs()["dist"]["steps"])
    assert "python -m build --outdir dist ." in dist
    for name, job in jobs().items():
        if name != "pypi":
            assert "id-token" not in job.get("permissions", {}), name


def test_only_the_action_release_job_may_write_the_repository():
    writers = [n for n, j in jobs().items() if j.get("permissions", {}).get("contents") == "write"]
    assert writers == ["action"]
    run = "\n".join(s.get("run", "") for s in jobs()["action"]["steps"])
    assert 'git push --force origin "refs/tags/$TAG" "refs/tags/v$MAJOR"' in run
