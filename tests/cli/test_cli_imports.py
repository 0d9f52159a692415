"""The plain gate never imports numpy: only a rule with a confidence interval needs it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli_helpers import EXAMPLES, clean_env, run_cli

# The example's one rule with a confidence interval (a mapping item of `rules:`).
CONFIDENCE_RULE = re.compile(
    r"^  - metric: recall\n(?:    .*\n)*?    confidence: .*\n(?:    .*\n)*", re.MULTILINE
)


def imported_modules(stderr: str) -> set[str]:
    """The modules `-X importtime` (PYTHONPROFILEIMPORTTIME) reported on stderr."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def numpy_modules(config: Path) -> set[str]:
    proc = run_cli(
        "check",
        "--config",
        str(config),
        "--results",
        str(EXAMPLES / "results"),
        "-q",
        env=clean_env(PYTHONPROFILEIMPORTTIME="1"),
    )
    assert proc.code == 1, proc.err[-2000:]  # the example fails on purpose
    modules = imported_modules(proc.err)
    # the listing is real: the gate's own modules are in it
    assert {"gate.cli.main", "gate.core.evaluate", "yaml"} <= modules
    return {m for m in modules if m == "numpy" or m.startswith("numpy.")}


def test_the_example_gate_without_its_confidence_rule_never_imports_numpy(tmp_path):
    text = (EXAMPLES / "eval-gate.yml").read_text()
    plain, removed = CONFIDENCE_RULE.subn("", text)
    assert removed == 1
    assert "confidence:" not in plain
    config = tmp_path / "eval-gate.yml"
    config.write_text(plain)
    assert numpy_modules(config) == set()


def test_the_example_with_its_confidence_rule_imports_numpy():
    """The control: the listing would show numpy if the gate loaded it."""
    assert "numpy" in numpy_modules(EXAMPLES / "eval-gate.yml")
