"""The Action words the engine's errors in its own inputs (the `wait` input; `eval-ids`,
`models`, `versions`), never the command line's flags: the engine names no face."""

from __future__ import annotations

from tests.action.test_action_process import (  # fixtures, re-exported for pytest
    github,
    roboflow,
    run_action,
    urls,
)

__all__ = ["github", "roboflow", "urls"]

RULES = "version: 1\nrules:\n  - metric: map50\n    min: 0.5\n"
PUSH = {"event": "push.json", "event_name": "push", "comment": "off", "config": RULES}


async def test_a_running_evaluation_says_raise_the_wait_input(tmp_path, urls):
    run = await run_action(tmp_path, urls, eval_ids="slow", wait="0", workspace="ws", **PUSH)
    assert run.code == 3, run.err
    said = (
        "evaluation slow is still running after waiting 0 s; raise the wait input, or run the "
        "gate again when it is done"
    )
    assert said in run.err
    assert f"::error title=eval-gate::{said}" in run.out
    assert "--wait" not in run.out + run.err


async def test_nothing_to_gate_says_set_the_inputs(tmp_path, urls):
    run = await run_action(tmp_path, urls, eval_ids="", **PUSH)
    assert run.code == 2, run.err
    said = (
        "no evaluation to gate: set the eval-ids, models or versions input, or list evals: in "
        "the config"
    )
    assert said in run.err
    assert "--eval" not in run.out + run.err


async def test_no_workspace_says_set_the_workspace_input(tmp_path, urls):
    run = await run_action(tmp_path, urls, eval_ids="good", **PUSH)
    assert run.code == 2, run.err
    assert "no workspace: set the workspace input, or add workspace: to the config" in run.err
    assert "--workspace" not in run.out + run.err
