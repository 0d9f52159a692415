"""The plain gate never imports numpy: only a rule with a confidence interval needs it."""

from __future__ import annotations

from tests.cli_helpers import EXAMPLES, clean_env, run_cli


def imported_modules(stderr: str) -> set[str]:
    """The modules `-X importtime` (PYTHONPROFILEIMPORTTIME) reported on stderr."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def test_the_example_gate_runs_without_importing_numpy():
    proc = run_cli(
        "check",
        "--config",
        str(EXAMPLES / "eval-gate.yml"),
        "--results",
        str(EXAMPLES / "results"),
        "-q",
        env=clean_env(PYTHONPROFILEIMPORTTIME="1"),
    )
    assert proc.code == 1, proc.err[-2000:]  # the example fails on purpose
    modules = imported_modules(proc.err)
    # the listing is real: the gate's own modules are in it
    assert {"gate.cli.main", "gate.core.evaluate", "yaml"} <= modules
    assert not {m for m in modules if m == "numpy" or m.startswith("numpy.")}
