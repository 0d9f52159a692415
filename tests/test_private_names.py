"""No module of `gate` imports another module's private name (`from gate.x import _y`).

Ruff's PLC2701 (on in pyproject.toml) forbids it from outside the package (tests, bench,
tools) but passes over imports within one package; this holds the line inside `gate/`, where
the service once reached into the engine's `_gather_input` and `_first_gate_error`."""

from __future__ import annotations

import ast
from pathlib import Path

GATE = Path(__file__).resolve().parent.parent / "gate"


def private_imports(path: Path) -> list[str]:
    """`module._name` for each private name `path` imports from another module of gate."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gate"):
            found += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_module_of_gate_imports_another_s_private_name():
    offenders = {
        str(path.relative_to(GATE.parent)): names
        for path in sorted(GATE.rglob("*.py"))
        if (names := private_imports(path))
    }
    assert offenders == {}


def test_the_check_sees_a_private_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from gate.engine import _gather_input, run_gate\nimport gate._lazy\n")
    assert private_imports(module) == ["gate.engine._gather_input"]
