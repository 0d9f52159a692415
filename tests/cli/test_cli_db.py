"""`eval-gate db upgrade` and `eval-gate db check`: the database of durable gates from the
command line, in-process (`run`) and once as a real process. On PostgreSQL:
tests/store/test_migrations.py (which has the PostgreSQL fixtures)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from gate.cli.main import run
from tests.cli_helpers import clean_env, run_cli

PASSWORD = "hunter22-not-shown"


def db(*argv: str, cwd: Path, **environ: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["db", *argv], environ=environ, cwd=cwd, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_db_upgrade_migrates_the_default_database_in_the_working_directory(tmp_path):
    code, out, err = db("upgrade", cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out == (
        f"sqlite:///{tmp_path}/eval-gate.db: upgraded from empty to revision 0002 "
        "(this eval-gate's head)\n"
    )
    with sqlite3.connect(tmp_path / "eval-gate.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"gates", "watches", "gate_watches", "deliveries", "alembic_version"} <= tables
    code, out, _ = db("upgrade", cwd=tmp_path)
    assert (code, out.split(": ", 1)[1]) == (
        0,
        "already at revision 0002 (this eval-gate's head)\n",
    )


def test_db_check_says_ok_on_a_migrated_database_and_why_not_otherwise(tmp_path):
    env = {"EVAL_GATE_DATABASE_URL": "sqlite:///gates.db"}
    code, out, err = db("check", cwd=tmp_path, **env)
    assert (code, out) == (3, "")
    assert err == (
        f"eval-gate: error: database sqlite:///{tmp_path}/gates.db has no eval-gate tables: "
        "run `eval-gate db upgrade`\n"
    )
    assert db("upgrade", cwd=tmp_path, **env)[0] == 0
    code, out, err = db("check", cwd=tmp_path, **env)
    assert (code, out, err) == (
        0,
        f"sqlite:///{tmp_path}/gates.db: ok (revision 0002, writable)\n",
        "",
    )


def test_db_on_a_missing_directory_exits_3_in_one_line(tmp_path):
    code, out, err = db("upgrade", cwd=tmp_path, EVAL_GATE_DATABASE_URL="sqlite:///nope/gates.db")
    assert (code, out) == (3, "")
    assert err.count("\n") == 1
    assert f"directory {tmp_path}/nope does not exist" in err


def test_db_with_a_bad_url_is_a_usage_error_that_never_echoes_it(tmp_path):
    code, out, err = db(
        "upgrade", cwd=tmp_path, EVAL_GATE_DATABASE_URL=f"mysql://root:{PASSWORD}@db/gates"
    )
    assert (code, out) == (2, "")
    assert err == (
        "eval-gate: error: EVAL_GATE_DATABASE_URL has scheme 'mysql'; use sqlite:///PATH or "
        "postgresql://user:password@host:port/db\n"
    )


def test_db_on_an_unreachable_postgres_exits_3_without_the_password(tmp_path):
    url = f"postgresql://gate:{PASSWORD}@127.0.0.1:1/gates"
    code, out, err = db("check", cwd=tmp_path, EVAL_GATE_DATABASE_URL=url)
    assert (code, out) == (3, "")
    assert err.startswith("eval-gate: error: database postgresql://gate:***@127.0.0.1:1/gates ")
    assert PASSWORD not in err


@pytest.mark.parametrize("argv", [["db"], ["db", "downgrade"]])
def test_db_without_a_known_action_is_a_usage_error(tmp_path, argv):
    out, err = io.StringIO(), io.StringIO()
    assert run(argv, environ={}, cwd=tmp_path, out=out, err=err) == 2
    assert "(see eval-gate db --help)" in err.getvalue()


def test_the_db_upgrade_process_migrates_and_exits_0(tmp_path):
    proc = run_cli("db", "upgrade", cwd=tmp_path, env=clean_env())
    assert (proc.code, proc.err) == (0, "")
    assert "revision 0002" in proc.out
    assert (tmp_path / "eval-gate.db").is_file()
