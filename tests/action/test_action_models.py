"""The Action's `models` and `versions` inputs: read like `eval-ids`, handed to the engine."""

from __future__ import annotations

from pathlib import Path

from gate.action.inputs import input_env_name, read_action_settings
from gate.action.step import local_gate_for

KEY = "rf_live_0123456789abcdef"


def test_models_and_versions_are_read_and_wired():
    settings = read_action_settings(
        {
            "INPUT_API-KEY": KEY,
            input_env_name("models"): "m1, m2\nm1",
            input_env_name("versions"): "v7",
            input_env_name("eval-ids"): "e1",
        }
    )
    assert settings.models == ("m1", "m2")
    assert settings.versions == ("v7",)
    job = local_gate_for(settings, Path("/workspace"))
    assert (job.eval_ids, job.models, job.versions) == (("e1",), ("m1", "m2"), ("v7",))
