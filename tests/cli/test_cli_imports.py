"""The plain gate never imports numpy: only a rule with a confidence interval needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import EXAMPLES, REPO, clean_env, imported_modules, run_cli


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


APP_CRYPTO = ("jwt", "cryptography", "cffi")  # PyJWT and cryptography: a service as a GitHub App


def crypto_modules(proc_err: str) -> set[str]:
    modules = imported_modules(proc_err)
    assert modules, proc_err[-2000:]
    return {m for m in modules if m.startswith(APP_CRYPTO) and m.split(".")[0] in APP_CRYPTO}


def test_check_and_serve_help_never_import_the_app_s_crypto(tmp_path):
    """PyJWT and cryptography are loaded only when a service is configured as a GitHub App:
    not by a gate on the command line, nor by `serve --help` (which reads the settings'
    declarations, the App's among them)."""
    env = clean_env(PYTHONPROFILEIMPORTTIME="1")
    args = ("check", "--config", str(EXAMPLES / "eval-gate.yml"), "--results")
    check = run_cli(*args, str(EXAMPLES / "results"), "-q", cwd=tmp_path, env=env)
    assert "gate.cli.main" in imported_modules(check.err)
    assert crypto_modules(check.err) == set()
    serve_help = run_cli("serve", "--help", cwd=tmp_path, env=env)
    assert serve_help.code == 0, serve_help.err[-2000:]
    assert "gate.server.settings" in imported_modules(serve_help.err)
    assert crypto_modules(serve_help.err) == set()


def test_loading_the_app_s_key_imports_cryptography_the_control(tmp_path):
    """The control: the listing shows cryptography once the App's key is loaded."""
    code = (
        "from gate.github.app_key import AppKeyError, load_app_key\n"
        "try:\n    load_app_key(b'', where='-')\nexcept AppKeyError:\n    pass\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=clean_env(PYTHONPROFILEIMPORTTIME="1"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "cryptography" in crypto_modules(proc.stderr)
