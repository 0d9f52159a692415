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


DATABASE = ("sqlalchemy", "alembic", "aiosqlite", "psycopg", "gate.store")


def database_modules(*args: str, cwd: Path) -> set[str]:
    proc = run_cli(*args, cwd=cwd, env=clean_env(PYTHONPROFILEIMPORTTIME="1"))
    modules = imported_modules(proc.err)
    assert "gate.cli.main" in modules, proc.err[-2000:]
    return {m for m in modules if m.startswith(DATABASE)}


def test_check_never_imports_the_database_libraries(tmp_path):
    """The store is for `serve` and `db`: a gate on the command line pays nothing for it."""
    args = ("check", "--config", str(EXAMPLES / "eval-gate.yml"), "--results")
    assert database_modules(*args, str(EXAMPLES / "results"), "-q", cwd=tmp_path) == set()
    assert database_modules("--help", cwd=tmp_path) == set()


def test_db_upgrade_imports_the_database_libraries(tmp_path):
    """The control: the listing shows SQLAlchemy when a command loads it (names loaded by
    the lazy `gate.store` go through importlib and are not listed; what they import is)."""
    assert {"sqlalchemy", "alembic", "gate.store.migrate"} <= database_modules(
        "db", "upgrade", cwd=tmp_path
    )
