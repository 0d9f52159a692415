"""action.yml, the Dockerfile, .dockerignore and the example workflows agree with the code."""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from gate.action.inputs import (
    INPUT_NAMES,
    INPUTS,
    REQUIRED_INPUTS,
    ActionSettings,
    read_action_settings,
)
from gate.action.runner import OUTPUT_NAMES
from tests.paths import REPO
from tests.runner_files import dockerfile_instructions, image_entrypoint

SERVE_DOCKERFILE = REPO / "docker" / "serve.Dockerfile"
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
WORKFLOWS = REPO / "examples" / "workflows"
USES = "your-org/eval-gate@v1"


def runner_input_env(name: str) -> str:
    """The runner's rule, written out independently of the code: upper case, spaces to `_`."""
    return "INPUT_" + name.replace(" ", "_").upper()


# --- action.yml ----------------------------------------------------------------------------


def test_action_runs_the_dockerfile_without_args():
    runs = ACTION["runs"]
    assert runs == {"using": "docker", "image": "Dockerfile"}  # no args, no entrypoint override


def test_action_metadata():
    for key in ("name", "description", "author"):
        assert isinstance(ACTION[key], str) and ACTION[key].strip()
    assert set(ACTION["branding"]) == {"icon", "color"}


def test_inputs_declared_are_exactly_the_inputs_read():
    assert tuple(ACTION["inputs"]) == INPUT_NAMES


def test_every_input_is_documented():
    for name, spec in ACTION["inputs"].items():
        assert isinstance(spec.get("description"), str) and spec["description"].strip(), name
        assert isinstance(spec.get("required"), bool), name
        if "default" in spec:
            assert isinstance(spec["default"], str), f"{name}: a default must be a string"


def test_input_defaults():
    inputs = ACTION["inputs"]
    # api-key is required unless service-url is given: the Action checks it, not the runner.
    assert inputs["api-key"]["required"] is False
    assert "default" not in inputs["api-key"]
    assert [n for n, spec in inputs.items() if spec["required"]] == []
    defaults = {n: spec["default"] for n, spec in inputs.items() if "default" in spec}
    assert defaults == {
        "config": ".github/eval-gate.yml",
        "config-from": "base",
        "github-token": "${{ github.token }}",
        "comment": "update",
        "wait": "600",
        "fail-on": "error",
        "commit-status": "false",
        "check-run": "false",
        "service-wait": "false",
    }


def test_action_yml_agrees_with_the_declared_inputs():
    # action.yml and gate.action.inputs.INPUTS declare the same inputs, in the same order, the
    # same required ones, and a default in action.yml reads as the declaration's default (an
    # input without one there is "not given": the declaration's default is None or empty).
    inputs = ACTION["inputs"]
    assert [o.name for o in INPUTS] == list(inputs)
    assert [n for n, spec in inputs.items() if spec["required"]] == list(REQUIRED_INPUTS)
    for option in INPUTS:
        spec = inputs[option.name]
        if "default" not in spec:
            assert option.default in (None, "", ()), option.name
        elif "${{" in spec["default"]:
            assert option.default is None, option.name  # evaluated by the runner
        else:
            assert option.convert(spec["default"]) == option.default, option.name
            assert option.shown() == f"`{spec['default']}`", option.name


def test_expressions_only_in_the_token_default():
    # The runner evaluates ${{ }} in action.yml when it loads it, descriptions included, and
    # `secrets` is not available there: one in a description makes the action fail to load.
    text = (REPO / "action.yml").read_text(encoding="utf-8")
    assert re.findall(r"\$\{\{.*?\}\}", text) == ["${{ github.token }}"]


def test_the_code_reads_every_input_under_the_runner_env_name():
    values = {
        "api-key": "key-123456",
        "workspace": "acme",
        "eval-ids": "e1,e2",
        "models": "m1",
        "versions": "v1 v2",
        "baseline": "b1",
        "config": "gates/one.yml",
        "config-from": "workspace",
        "github-token": "tok-123456",
        "comment": "new",
        "gate-id": "one",
        "wait": "30",
        "fail-on": "never",
        "api-url": "http://127.0.0.1:9",
        "commit-status": "true",
        "status-context": "ctx/one",
        "check-run": "true",
        "service-url": "http://127.0.0.1:8",
        "service-token": "svc-123456",
        "service-wait": "true",
    }
    assert set(values) == set(ACTION["inputs"])
    environ = {runner_input_env(name): value for name, value in values.items()}
    assert "INPUT_EVAL-IDS" in environ  # hyphens kept
    settings = read_action_settings(environ)
    assert settings == ActionSettings(
        api_key="key-123456",
        github_token="tok-123456",
        workspace="acme",
        eval_ids=("e1", "e2"),
        models=("m1",),
        versions=("v1", "v2"),
        baseline="b1",
        config="gates/one.yml",
        config_from="workspace",
        comment="new",
        gate_id="one",
        wait=30.0,
        fail_on="never",
        api_url="http://127.0.0.1:9",
        commit_status=True,
        status_context="ctx/one",
        check_run=True,
        service_url="http://127.0.0.1:8",
        service_token="svc-123456",
        service_wait=True,
        warnings=(_API_KEY_UNUSED,),
    )
    # And each variable on its own matters: dropping it changes the settings.
    for name in values:
        if name == "api-key":
            continue
        without = {k: v for k, v in environ.items() if k != runner_input_env(name)}
        assert read_action_settings(without) != settings, name


_API_KEY_UNUSED = (
    "input api-key is not used with service-url: the service fetches from Roboflow with its own "
    "key; remove api-key from with:"
)


def test_runner_defaults_give_the_dataclass_defaults():
    # What the runner passes when a workflow gives only api-key: every declared input, with
    # its default (the token's expression evaluated), or empty.
    environ = {}
    for name, spec in ACTION["inputs"].items():
        default = spec.get("default", "")
        environ[runner_input_env(name)] = "ghs_token" if "${{" in default else default
    environ["INPUT_API-KEY"] = "key-123456"
    settings = read_action_settings(environ)
    gate_id = "github-eval-gate-yml"
    assert settings == ActionSettings(
        api_key="key-123456",
        github_token="ghs_token",
        gate_id=gate_id,
        status_context=f"eval-gate/{gate_id}",
    )


def test_outputs_declared_are_exactly_the_outputs_written():
    assert tuple(ACTION["outputs"]) == OUTPUT_NAMES
    for name, spec in ACTION["outputs"].items():
        assert set(spec) == {"description"}, name
        assert spec["description"].strip(), name


# --- Dockerfile ----------------------------------------------------------------------------


INSTRUCTIONS = dockerfile_instructions()


def stages(instructions: list[tuple[str, str]] = INSTRUCTIONS) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, rest))
    return result


def test_entrypoint_is_exec_form_with_an_absolute_path():
    entrypoints = [rest for keyword, rest in INSTRUCTIONS if keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    command = json.loads(entrypoints[0])  # exec form is a JSON array
    assert command == ["/usr/local/bin/python", "-I", "-B", "-u", "-m", "gate.action"]
    assert Path(command[0]).is_absolute()


def interpreter_flags(command: list[str]) -> list[str]:
    """The options given to python before `-m`: one letter each, or bundled (-IBu)."""
    assert "-m" in command, command
    options = command[1 : command.index("-m")]
    assert all(re.fullmatch(r"-[A-Za-z]+", o) for o in options), options
    return [f"-{letter}" for o in options for letter in o[1:]]


@pytest.mark.parametrize(
    ("dockerfile", "module"),
    [(REPO / "Dockerfile", "gate.action"), (SERVE_DOCKERFILE, "gate")],
    ids=["action", "serve"],
)
def test_both_images_start_python_isolated(dockerfile, module):
    # The Action runs with the checked-out repository as its working directory: without -I
    # (or -P) `python -m` puts it first on sys.path, and a repository's own `gate/` package or
    # `yaml.py` is imported instead of ours, with the API key and token in the environment.
    # -I also ignores PYTHONPATH and the other PYTHON* variables a workflow's env may set.
    command = image_entrypoint(dockerfile)
    assert command[0] == "/usr/local/bin/python"
    assert "-I" in interpreter_flags(command)
    assert command[command.index("-m") + 1] == module
    # -I ignores PYTHONUNBUFFERED / PYTHONDONTWRITEBYTECODE: the flags say it instead.
    assert {"-u", "-B"} <= set(interpreter_flags(command))


def test_the_service_image_serves_as_a_numeric_non_root_user():
    instructions = dockerfile_instructions(SERVE_DOCKERFILE)
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users == ["10001:10001"]
    assert image_entrypoint(SERVE_DOCKERFILE)[-2:] == ["gate", "serve"]


def test_no_user_no_workdir_no_cmd():
    keywords = {keyword for keyword, _ in INSTRUCTIONS}
    assert "USER" not in keywords  # the runner needs root for the mounted workspace
    assert "WORKDIR" not in keywords  # the runner sets the working directory itself
    assert "CMD" not in keywords  # would add arguments the action does not expect


def test_two_stages_on_the_same_slim_python_pinned_by_tag_and_digest():
    froms = [rest.split()[0] for keyword, rest in INSTRUCTIONS if keyword == "FROM"]
    assert len(froms) == 2
    assert froms[0] == froms[1]
    # A tag can be pushed again; the digest (of the multi-architecture index) cannot.
    found = re.fullmatch(r"python:(3)\.(\d+)\.(\d+)-slim-bookworm@sha256:[0-9a-f]{64}", froms[0])
    assert found, froms[0]
    requires = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"
    ]
    assert SpecifierSet(requires).contains(".".join(found.groups()))
    assert INSTRUCTIONS[0] == ("FROM", f"{froms[0]} AS builder")
    # The service's image is built on exactly the same base.
    serve = dockerfile_instructions(SERVE_DOCKERFILE)
    assert [rest.split()[0] for keyword, rest in serve if keyword == "FROM"] == froms


def test_dependabot_keeps_both_base_image_digests_and_the_pins_current():
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    directories = {
        update["package-ecosystem"]: set(update.get("directories", [update.get("directory")]))
        for update in config["updates"]
    }
    assert directories["docker"] >= {"/", "/docker"}  # Dockerfile, docker/serve.Dockerfile
    assert directories["github-actions"] >= {"/", "/composite"}
    assert directories["pip"] >= {"/", "/docker"}


CHECK_RUN = re.compile(
    r'/usr/local/bin/python -I -B -c "import importlib\.metadata as m, (gate(?:\.[a-z_]+)+)'
    r"((?:, [a-z_.]+)*); "
    r"m\.distribution\('eval-gate'\)\" "
    r"&& /usr/local/bin/python -I -B -m pip --disable-pip-version-check --no-cache-dir check"
)


@pytest.mark.parametrize(
    ("dockerfile", "module", "also", "more"),
    [
        (REPO / "Dockerfile", "gate.action", "", []),
        # the service's image proves the postgres extra too (pip check skips extras), and
        # makes the durable gates' database directory (tests/server/test_serve_image.py)
        (
            SERVE_DOCKERFILE,
            "gate.server.app",
            ", gate.store.store, psycopg",
            ["mkdir -m 0700 /data && chown 10001:10001 /data"],
        ),
    ],
    ids=["action", "serve"],
)
def test_the_final_stage_copies_the_install_and_proves_it_complete(dockerfile, module, also, more):
    final = stages(dockerfile_instructions(dockerfile))[-1]
    copies = [rest for keyword, rest in final if keyword == "COPY"]
    assert copies == ["--from=builder /install /usr/local"]
    # One RUN, after the COPY, that only checks: on the final interpreter, isolated (-I: no
    # PYTHONPATH, no working directory, nothing of the builder's), writing no .pyc (-B). A
    # missing or misplaced install fails the import; a missing requirement fails pip check.
    runs = [rest for keyword, rest in final if keyword == "RUN"]
    assert runs[1:] == more, runs
    found = CHECK_RUN.fullmatch(" ".join(runs[0].split()))
    assert found, runs[0]
    assert (found[1], found[2]) == (module, also)
    keywords = [keyword for keyword, _ in final]
    assert keywords.index("RUN") > keywords.index("COPY")
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env.split()
    assert "PYTHONUNBUFFERED=1" in env.split()


@pytest.mark.parametrize(
    "dockerfile", [REPO / "Dockerfile", SERVE_DOCKERFILE], ids=["action", "serve"]
)
def test_the_builder_does_not_check_against_its_own_packages(dockerfile):
    # `PYTHONPATH=/install/... pip check` in the builder also saw hatchling, packaging... and
    # passed when the path did not exist at all: the check belongs to the final stage.
    builder = stages(dockerfile_instructions(dockerfile))[0]
    for keyword, rest in builder:
        if keyword == "RUN":
            assert not re.search(r"\bpip\b[^&;|]*\bcheck\b", rest), rest
            assert "PYTHONPATH" not in rest, rest


def read_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        found = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
        assert found, f"{path.name}: not an exact pin: {line!r}"
        name = canonicalize_name(found[1])
        assert name not in pins, f"{path.name}: {name} pinned twice"
        pins[name] = found[2]
    return pins


def test_runtime_pins_satisfy_pyproject():
    pins = read_pins(REPO / "docker" / "requirements.txt")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a dependency but docker/requirements.txt does not pin it"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"docker/requirements.txt pins {name}=={pins[name]}, pyproject allows "
            f"{requirement.specifier}"
        )


def test_build_pins_satisfy_the_build_system():
    pins = read_pins(REPO / "docker" / "build-requirements.txt")
    build = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    for spec in build["requires"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins
        assert requirement.specifier.contains(pins[name])


def test_postgres_pins_satisfy_the_postgres_extra():
    pins = read_pins(REPO / "docker" / "postgres-requirements.txt")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = read_pins(REPO / "docker" / "requirements.txt")
    assert not set(pins) & set(runtime), "pinned in both lists"
    extra = [Requirement(spec) for spec in project["optional-dependencies"]["postgres"]]
    for requirement in extra:
        name = canonicalize_name(requirement.name)
        assert requirement.specifier.contains(pins[name], prereleases=True)
        for also in requirement.extras:  # psycopg[binary] -> psycopg-binary, same version
            assert pins[canonicalize_name(f"{name}-{also}")] == pins[name]


def copy_sources() -> set[str]:
    """What the two images' Dockerfiles copy from the build context (they share it)."""
    sources: set[str] = set()
    for keyword, rest in [*INSTRUCTIONS, *dockerfile_instructions(SERVE_DOCKERFILE)]:
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        *srcs, _dest = shlex.split(rest)
        sources.update(srcs)
    return sources


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies():
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[0] == "*"  # everything out, then the build's inputs back in
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == copy_sources()
    for source in allowed:
        assert (REPO / source).exists(), source
    for kept_out in (".git", "tests", "bench", "examples", ".venv", "**/__pycache__"):
        assert kept_out in lines, kept_out


def test_copy_destinations_are_absolute():
    for keyword, rest in INSTRUCTIONS:
        if keyword in ("COPY", "ADD"):
            assert keyword == "COPY"
            assert shlex.split(rest)[-1].startswith("/"), rest


# --- example workflows ---------------------------------------------------------------------


def workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOWS.rglob("*") if p.suffix in (".yml", ".yaml"))


def load_workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def gate_steps(workflow: dict) -> list[dict]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("your-org/eval-gate")
    ]


def test_the_example_workflows_exist():
    names = {str(p.relative_to(WORKFLOWS)) for p in workflow_files()}
    assert names == {
        "eval-gate.yml",
        "eval-gate-multi.yml",
        "eval-gate-durable.yml",
        "eval-gate-fork-safe/eval-gate-request.yml",
        "eval-gate-fork-safe/eval-gate-report.yml",
    }


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_gate_steps_use_only_declared_inputs(path):
    for step in gate_steps(load_workflow(path)):
        assert step["uses"] == USES
        given = set(step.get("with", {}))
        assert given <= set(INPUT_NAMES), given - set(INPUT_NAMES)
        if "service-url" in step["with"]:  # the service fetches with its own key
            assert "api-key" not in step["with"]
            assert step["with"]["service-token"] == "${{ secrets.EVAL_GATE_TOKEN }}"
        else:
            assert step["with"]["api-key"] == "${{ secrets.ROBOFLOW_API_KEY }}"


def test_the_durable_workflow_submits_and_leaves_with_a_read_only_token():
    workflow = load_workflow(WORKFLOWS / "eval-gate-durable.yml")
    assert workflow["permissions"] == {"contents": "read"}  # the service posts, not the job
    (step,) = gate_steps(workflow)
    assert step["with"]["service-url"] == "${{ secrets.EVAL_GATE_URL }}"
    assert "service-wait" not in step["with"]
    (job,) = workflow["jobs"].values()
    assert job["timeout-minutes"] <= 5


def test_the_common_workflow():
    workflow = load_workflow(WORKFLOWS / "eval-gate.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
    (step,) = gate_steps(workflow)
    assert step["with"]["eval-ids"]


def test_the_multi_gate_workflow_keeps_gates_apart():
    steps = gate_steps(load_workflow(WORKFLOWS / "eval-gate-multi.yml"))
    assert len(steps) == 2
    assert len({s["with"]["gate-id"] for s in steps}) == 2
    assert len({s["with"]["config"] for s in steps}) == 2


def test_the_fork_safe_pair_fits_together():
    request = load_workflow(WORKFLOWS / "eval-gate-fork-safe" / "eval-gate-request.yml")
    report = load_workflow(WORKFLOWS / "eval-gate-fork-safe" / "eval-gate-report.yml")
    # Part 1: the pull request, read-only, no secrets, no gate.
    assert set(request["on"]) == {"pull_request"}
    assert request["permissions"] == {"contents": "read"}
    assert "${{ secrets." not in (
        WORKFLOWS / "eval-gate-fork-safe" / "eval-gate-request.yml"
    ).read_text(encoding="utf-8")
    assert gate_steps(request) == []
    uploads = [
        s
        for job in request["jobs"].values()
        for s in job["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact@")
    ]
    (upload,) = uploads
    # Part 2: triggered by part 1's completion, with write permissions, runs the gate.
    trigger = report["on"]["workflow_run"]
    assert trigger["workflows"] == [request["name"]]
    assert trigger["types"] == ["completed"]
    assert report["permissions"]["pull-requests"] == "write"
    assert report["permissions"]["actions"] == "read"
    assert report["permissions"]["contents"] == "read"  # the base commit's rules
    downloads = [
        s
        for job in report["jobs"].values()
        for s in job["steps"]
        if s.get("uses", "").startswith("actions/download-artifact@")
    ]
    (download,) = downloads
    assert download["with"]["name"] == upload["with"]["name"]
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    (gate,) = gate_steps(report)
    assert gate["with"]["eval-ids"] == "${{ steps.request.outputs.eval-ids }}"
    # It never checks out the pull request's code.
    for job in report["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert "ref" not in step.get("with", {})


def test_lint_action_script():
    script = REPO / ".ci" / "lint-action"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(script, os.X_OK)
    for needle in ("vendor.github-actions", "vendor.github-workflows", "hadolint"):
        assert needle in text
