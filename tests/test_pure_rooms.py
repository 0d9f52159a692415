"""The pure rooms read no environment: no working directory, no environment variables, no
printing, no exit. Import contracts keep I/O libraries out of them; this keeps out the calls
that need no import (`Path.cwd()`, `os.environ`, `print`, `sys.exit`), where the report once
named the config file relative to the process's working directory."""

from __future__ import annotations

import ast
from pathlib import Path

GATE = Path(__file__).resolve().parent.parent / "gate"
PURE = ("core", "config", "report", "api", "engine.py", "baseline_data.py", "trend_data.py")
FORBIDDEN = {"cwd", "getcwd", "environ", "getenv", "putenv", "print", "exit", "input", "chdir"}


def environment_calls(path: Path) -> list[str]:
    """`line: name` for each use of a forbidden name in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        name = None
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN:
            name = node.attr
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN:
            name = node.id
        if name is not None:
            found.append(f"{node.lineno}: {name}")
    return found


def pure_modules() -> list[Path]:
    modules = []
    for name in PURE:
        room = GATE / name
        modules += sorted(room.rglob("*.py")) if room.is_dir() else [room]
    return modules


def test_the_pure_rooms_exist():
    assert all((GATE / name).exists() for name in PURE)
    assert len(pure_modules()) > 30


def test_no_pure_module_reads_the_environment_prints_or_exits():
    offenders = {
        str(path.relative_to(GATE.parent)): calls
        for path in pure_modules()
        if (calls := environment_calls(path))
    }
    assert offenders == {}


def test_the_check_sees_each_kind(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import os, sys\nfrom pathlib import Path\n"
        "a = Path.cwd()\nb = os.environ['X']\nprint(a)\nsys.exit(1)\nc = os.getenv('Y')\n"
    )
    assert environment_calls(module) == ["3: cwd", "4: environ", "5: print", "6: exit", "7: getenv"]
