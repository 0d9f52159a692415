"""composite/action.yml, the action for runners without Docker: it agrees with action.yml
(inputs, required flags, defaults, descriptions, outputs), passes every input the way the Docker
runner does, and its steps, run as processes the way the runner runs them (expressions
substituted, `bash -c` in the workspace), install this checkout and gate like the image."""

from __future__ import annotations

import asyncio
import copy
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.action.runner import OUTPUT_NAMES
from tests.action.test_action_process import (
    BASE_SHA,
    GH_TOKEN,
    PR,
    PR_HEAD,
    RF_KEY,
    finish,
    start_action,
)
from tests.action.test_action_process import REPO as GH_REPO
from tests.github_standin import GitHubStandIn
from tests.paths import REPO
from tests.roboflow_standin import RoboflowStandIn, detection_results
from tests.runner_files import image_entrypoint

DOCKER = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
COMPOSITE_YML = REPO / "composite" / "action.yml"
COMPOSITE = yaml.safe_load(COMPOSITE_YML.read_text(encoding="utf-8"))
INSTALL_SH = REPO / "composite" / "install.sh"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def steps_by_id(action: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in action["runs"]["steps"]}


def disagreements(docker: dict[str, Any], composite: dict[str, Any]) -> list[str]:
    """Every way the composite action differs from the Docker one for a user: its inputs
    (names and order, required, default, description), its outputs, and the variables its gate
    step passes. [] when they agree."""
    found: list[str] = []
    d_inputs, c_inputs = docker["inputs"], composite["inputs"]
    if list(d_inputs) != list(c_inputs):
        found.append(f"inputs differ: action.yml {list(d_inputs)}, composite {list(c_inputs)}")
    for name in d_inputs.keys() & c_inputs.keys():
        for key in ("required", "default", "description"):
            if d_inputs[name].get(key) != c_inputs[name].get(key):
                found.append(f"input {name}: {key} differs")
    d_outputs, c_outputs = docker["outputs"], composite["outputs"]
    if list(d_outputs) != list(c_outputs):
        found.append(f"outputs differ: action.yml {list(d_outputs)}, composite {list(c_outputs)}")
    for name in d_outputs.keys() & c_outputs.keys():
        if d_outputs[name].get("description") != c_outputs[name].get("description"):
            found.append(f"output {name}: description differs")
        if c_outputs[name].get("value") != f"${{{{ steps.gate.outputs.{name} }}}}":
            found.append(f"output {name}: value is not the gate step's output {name}")
    env = steps_by_id(composite)["gate"].get("env", {})
    passed = {k: v for k, v in env.items() if k.startswith("INPUT_")}
    expected = {f"INPUT_{name.upper()}": f"${{{{ inputs.{name} }}}}" for name in d_inputs}
    for variable in sorted(expected.keys() - passed.keys()):
        found.append(f"the gate step does not pass {variable}")
    for variable in sorted(passed.keys() - expected.keys()):
        found.append(f"the gate step passes {variable}, which is no input")
    for variable in sorted(expected.keys() & passed.keys()):
        if passed[variable] != expected[variable]:
            found.append(f"the gate step sets {variable} to {passed[variable]!r}")
    return found


# --- agreement -------------------------------------------------------------------------------


def test_the_composite_and_the_docker_action_agree_on_inputs_outputs_and_variables():
    assert disagreements(DOCKER, COMPOSITE) == []


def mutate(action: dict[str, Any], change: str) -> dict[str, Any]:
    changed = copy.deepcopy(action)
    inputs, outputs = changed["inputs"], changed["outputs"]
    gate_env = steps_by_id(changed)["gate"]["env"]
    if change == "a default":
        inputs["wait"]["default"] = "60"
    elif change == "required":
        inputs["api-key"]["required"] = True
    elif change == "a description":
        inputs["config"]["description"] = "Somewhere else."
    elif change == "a new input":
        inputs["extra"] = {"description": "new", "required": False}
    elif change == "a lost output":
        del outputs["comment-url"]
    elif change == "an output's value":
        outputs["verdict"]["value"] = "${{ steps.install.outputs.verdict }}"
    elif change == "an input not passed":
        del gate_env["INPUT_FAIL-ON"]
    elif change == "an input passed as _":
        gate_env["INPUT_FAIL_ON"] = gate_env.pop("INPUT_FAIL-ON")
    elif change == "an input passed another's value":
        gate_env["INPUT_WAIT"] = "${{ inputs.workspace }}"
    return changed


@pytest.mark.parametrize(
    "change",
    [
        "a default",
        "required",
        "a description",
        "a new input",
        "a lost output",
        "an output's value",
        "an input not passed",
        "an input passed as _",
        "an input passed another's value",
    ],
)
def test_any_disagreement_is_found(change):
    assert disagreements(DOCKER, mutate(COMPOSITE, change)) != []


def test_the_composite_declares_every_output_the_entrypoint_writes():
    assert tuple(COMPOSITE["outputs"]) == OUTPUT_NAMES


def test_the_gate_step_runs_the_images_entrypoint_with_the_installed_python():
    gate = steps_by_id(COMPOSITE)["gate"]
    assert gate["shell"] == "bash"
    command = shlex.split(gate["run"])
    assert command[0] == "exec"
    assert command[1] == "$EVAL_GATE_ACTION_PYTHON"
    assert gate["env"]["EVAL_GATE_ACTION_PYTHON"] == "${{ steps.install.outputs.python }}"
    assert command[2:] == image_entrypoint()[1:]  # -I -B -u -m gate.action


def test_python_is_set_up_for_eval_gate_only_from_a_pinned_action():
    python = steps_by_id(COMPOSITE)["python"]
    assert re.fullmatch(r"actions/setup-python@[0-9a-f]{40}", python["uses"])
    assert python["with"]["update-environment"] is False  # the job's own Python is untouched
    assert python["with"]["python-version"] == "3.11"  # the image's Python


def test_the_install_step_installs_this_checkout_with_the_images_pins():
    install = steps_by_id(COMPOSITE)["install"]
    assert install["shell"] == "bash"
    assert install["env"]["EVAL_GATE_SOURCE"] == "${{ github.action_path }}/.."
    assert install["env"]["EVAL_GATE_SETUP_PYTHON"] == "${{ steps.python.outputs.python-path }}"
    assert install["run"] == 'bash "$GITHUB_ACTION_PATH/install.sh"'
    script = INSTALL_SH.read_text(encoding="utf-8")
    assert '--no-deps -r "$source_dir/docker/requirements.txt"' in script
    assert '--no-deps --no-build-isolation "$build"' in script


def test_only_known_expressions_are_used():
    text = COMPOSITE_YML.read_text(encoding="utf-8")
    allowed = re.compile(
        r"inputs\.[a-z-]+|steps\.(gate|install|python)\.outputs\.[a-z-]+"
        r"|github\.token|github\.action_path"
    )
    for expression in EXPRESSION.findall(text):
        assert allowed.fullmatch(expression), expression


# --- the steps as processes ------------------------------------------------------------------


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(GH_REPO, PR, head_sha=PR_HEAD, base_sha=BASE_SHA)
    return standin


@pytest.fixture
async def urls(aiohttp_server, github) -> tuple[str, str]:
    roboflow = RoboflowStandIn(api_key=RF_KEY, workspace="ws")
    roboflow.add_eval("good", map_results=detection_results({"car": 0.9, "bus": 0.85}))
    roboflow.add_eval("bad", map_results=detection_results({"car": 0.9, "bus": 0.4}))
    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    return str(rf.make_url("")).rstrip("/"), str(gh.make_url("")).rstrip("/")


def substitute(text: str, context: dict[str, str]) -> str:
    """The runner's expression evaluation, for the few expressions the composite uses."""

    def value(match: re.Match[str]) -> str:
        assert match.group(1) in context, f"no value for ${{{{ {match.group(1)} }}}}"
        return context[match.group(1)]

    return EXPRESSION.sub(value, text)


def gate_step(python: str, **with_: str) -> tuple[list[str], dict[str, str]]:
    """The gate step's command and environment as the runner would start it, for `with:`
    values (names with `_` for `-`); every other input takes its default from composite/."""
    given = {k.replace("_", "-"): v for k, v in with_.items()}
    context = {"github.token": GH_TOKEN, "steps.install.outputs.python": python}
    for name, spec in COMPOSITE["inputs"].items():
        default = substitute(str(spec.get("default", "")), context)
        context[f"inputs.{name}"] = given.pop(name, default)
    assert not given, f"not inputs of the composite action: {sorted(given)}"
    step = steps_by_id(COMPOSITE)["gate"]
    env = {name: substitute(str(value), context) for name, value in step["env"].items()}
    return ["bash", "-c", step["run"]], env


async def run_gate_step(tmp_path, urls, python: str = sys.executable, **with_: str):
    command, env = gate_step(python, api_url=urls[0], **with_)
    return await finish(await start_action(tmp_path, urls, command=command, extra_env=env))


async def test_the_gate_step_passes_a_passing_gate_with_every_output(tmp_path, urls, github):
    run = await run_gate_step(tmp_path, urls, api_key=RF_KEY, eval_ids="good")
    assert run.code == 0, run.err
    assert run.outputs["verdict"] == "pass"
    assert run.outputs["passed"] == "true"
    assert set(run.outputs) == set(OUTPUT_NAMES)
    assert run.outputs["comment-url"].startswith("http")
    assert "Passed" in run.summary


async def test_the_gate_step_fails_a_failing_gate_as_the_docker_action_does(tmp_path, urls, github):
    run = await run_gate_step(tmp_path, urls, api_key=RF_KEY, eval_ids="bad")
    assert run.code == 1
    assert run.outputs["verdict"] == "fail"
    assert "::error title=eval-gate" in run.out


async def test_the_gate_step_reads_hyphenated_inputs_through_bash(tmp_path, urls, github):
    # fail-on and commit-status only reach the gate as INPUT_FAIL-ON / INPUT_COMMIT-STATUS.
    run = await run_gate_step(
        tmp_path, urls, api_key=RF_KEY, eval_ids="bad", fail_on="never", commit_status="true"
    )
    assert run.code == 0, run.err  # fail-on: never
    assert run.outputs["verdict"] == "fail"
    assert run.outputs["passed"] == "false"
    (status,) = github.statuses_for(GH_REPO, PR_HEAD)
    assert status.context.startswith("eval-gate/")


async def test_the_gate_step_without_an_api_key_is_a_clear_error(tmp_path, urls, github):
    command, env = gate_step(sys.executable, api_url=urls[0])  # api-key not given
    assert env["INPUT_API-KEY"] == ""
    started = await start_action(tmp_path, urls, command=command, extra_env=env, api_key="")
    run = await finish(started)
    assert run.code == 2
    assert "api-key" in run.err


@pytest.mark.skipif(sys.platform == "win32", reason="the test drives bash on Linux or macOS")
async def test_install_then_gate_from_a_fresh_venv_of_this_checkout(tmp_path, urls, github):
    """The install step for real (it downloads the pinned dependencies from the package
    index), then the gate step with the Python it wrote to GITHUB_OUTPUT."""
    runner_temp, output = tmp_path / "runner_temp", tmp_path / "install_output"
    runner_temp.mkdir()
    output.write_text("")
    context = {
        "steps.python.outputs.python-path": sys.executable,
        "github.action_path": str(REPO / "composite"),
    }
    step = steps_by_id(COMPOSITE)["install"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env.update({name: substitute(str(value), context) for name, value in step["env"].items()})
    env.update(
        GITHUB_ACTION_PATH=str(REPO / "composite"),
        RUNNER_TEMP=str(runner_temp),
        GITHUB_OUTPUT=str(output),
    )
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = output.read_text().splitlines()
    assert line.startswith("python=")
    python = Path(line.removeprefix("python="))
    assert python.is_relative_to(runner_temp)
    site = next((python.parent.parent / "lib").glob("python3*/site-packages"))
    assert (site / "gate" / "templates" / "report.md.j2").is_file()  # real files, no links
    assert not (site / "gate" / "templates").is_symlink()
    assert (site / "gate" / "schema" / "eval-gate.schema.json").is_file()

    run = await run_gate_step(tmp_path, urls, python=str(python), api_key=RF_KEY, eval_ids="good")
    assert run.code == 0, run.err
    assert run.outputs["verdict"] == "pass"

    again = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "reusing" in again.stdout  # the second use in a job does not install again
    assert output.read_text().splitlines() == [line, line]
