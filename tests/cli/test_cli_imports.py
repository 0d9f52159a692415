"""The plain gate never imports numpy: only a rule with a confidence interval needs it."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import EXAMPLES, clean_env, imported_modules, run_cli


def numpy_modules(example: Path) -> set[str]:
    """The numpy modules the example gate in `example` (a config beside its results) loads."""
    proc = run_cli(
        "check",
        "--config",
        str(example / "eval-gate.yml"),
        "--results",
        str(example / "results"),
        "-q",
        env=clean_env(PYTHONPROFILEIMPORTTIME="1"),
    )
    assert proc.code == 1, proc.err[-2000:]  # both examples fail on purpose
    modules = imported_modules(proc.err)
    # the listing is real: the gate's own modules are in it
    assert {"gate.cli.main", "gate.core.evaluate", "yaml"} <= modules
    return {m for m in modules if m == "numpy" or m.startswith("numpy.")}


def test_the_example_gate_runs_without_importing_numpy():
    assert "confidence:" not in (EXAMPLES / "eval-gate.yml").read_text()
    assert numpy_modules(EXAMPLES) == set()


def test_a_gate_with_a_confidence_rule_imports_numpy():
    """The control: the listing shows numpy when the gate loads it."""
    assert "numpy" in numpy_modules(EXAMPLES / "panels")
