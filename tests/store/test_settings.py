"""EVAL_GATE_DATABASE_URL and EVAL_GATE_DATABASE_PASSWORD_FILE: parsed without SQLAlchemy, a
relative SQLite path resolved against the working directory, and a password never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.core.errors import UsageError
from gate.store.connect import sqlalchemy_url
from gate.store.settings import (
    DEFAULT_DATABASE_URL,
    DatabaseSettings,
    database_settings,
    parse_database_url,
    read_password_file,
)

PASSWORD = "p@ss:w/rd%41"
URL = "postgresql://gate:p%40ss%3Aw%2Frd%2541@db.internal:5433/gates?sslmode=require"


def test_the_default_is_eval_gate_db_in_the_working_directory(tmp_path):
    settings = database_settings({}, cwd=tmp_path)
    assert DEFAULT_DATABASE_URL == "sqlite:///eval-gate.db"
    assert (settings.url.backend, settings.url.path) == ("sqlite", f"{tmp_path}/eval-gate.db")
    assert settings.password_file is None
    assert str(sqlalchemy_url(settings)) == f"sqlite+aiosqlite:///{tmp_path}/eval-gate.db"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("sqlite:///data/gates.db", "{cwd}/data/gates.db"),
        ("sqlite:////data/gates.db", "/data/gates.db"),
        ("sqlite+aiosqlite:////data/gates.db", "/data/gates.db"),
        ("  sqlite:////data/gates.db  ", "/data/gates.db"),
    ],
)
def test_a_sqlite_url_names_a_file_relative_to_the_working_directory(tmp_path, raw, path):
    settings = database_settings({"EVAL_GATE_DATABASE_URL": raw}, cwd=tmp_path)
    assert settings.url.path == path.format(cwd=tmp_path)
    assert settings.shown() == f"sqlite:///{path.format(cwd=tmp_path)}"


def test_a_postgres_url_is_parsed_with_its_escaped_password_kept_out_of_sight(tmp_path):
    settings = database_settings({"EVAL_GATE_DATABASE_URL": URL}, cwd=tmp_path)
    url = settings.url
    assert (url.backend, url.username, url.password) == ("postgresql", "gate", PASSWORD)
    assert (url.host, url.port, url.database, url.query) == (
        "db.internal",
        5433,
        "gates",
        (("sslmode", "require"),),
    )
    shown = "postgresql://gate:***@db.internal:5433/gates?sslmode=require"
    assert settings.shown() == str(url) == shown
    for text in (repr(settings), repr(url), str(url), settings.shown()):
        assert PASSWORD not in text
        assert "p%40ss" not in text
    driver = sqlalchemy_url(settings)
    assert (driver.drivername, driver.password) == ("postgresql+psycopg", PASSWORD)
    assert PASSWORD not in driver.render_as_string(hide_password=True)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg", "POSTGRESQL"])
def test_postgres_url_spellings(scheme):
    assert parse_database_url(f"{scheme}://u@h/db").backend == "postgresql"


def test_the_password_file_is_read_only_when_the_url_has_no_password(tmp_path):
    (tmp_path / "pw").write_text("from-the-file\n", encoding="utf-8")
    env = {
        "EVAL_GATE_DATABASE_URL": "postgresql://gate@db/gates",
        "EVAL_GATE_DATABASE_PASSWORD_FILE": "pw",
    }
    settings = database_settings(env, cwd=tmp_path)
    assert settings.password_file == tmp_path / "pw"
    assert sqlalchemy_url(settings).password == "from-the-file"
    assert "from-the-file" not in repr(settings) + settings.shown()
    in_url = database_settings({**env, "EVAL_GATE_DATABASE_URL": URL}, cwd=tmp_path)
    assert sqlalchemy_url(in_url).password == PASSWORD  # the URL's wins


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("mysql://root:hunter22@db/gates", "has scheme 'mysql'"),
        ("hunter22", "must be a URL"),
        ("sqlite://eval-gate.db", "must name a file"),
        ("sqlite:///", "must name a file after sqlite:///"),
        ("sqlite:///:memory:", "loses every gate when the process exits"),
        ("sqlite:///gates.db?mode=ro", "without a query"),
        ("postgresql://u:hunter22@db:99999/gates", "bad host or port"),
        ("postgresql://u:hunter22@db", "must name one database"),
        ("postgresql://u@db/gates?password=hunter22", "must not carry a password in its query"),
        ("postgresql://u:hunter22@db/gates#x", "must not have a fragment"),
    ],
)
def test_a_bad_url_is_one_usage_error_that_never_echoes_it(tmp_path, raw, problem):
    with pytest.raises(UsageError) as caught:
        database_settings({"EVAL_GATE_DATABASE_URL": raw}, cwd=tmp_path)
    message = str(caught.value)
    assert message.startswith("EVAL_GATE_DATABASE_URL ")
    assert problem in message
    assert "hunter22" not in message


def test_a_password_file_beside_sqlite_is_a_contradiction(tmp_path):
    with pytest.raises(UsageError, match="SQLite, which has no password"):
        database_settings({"EVAL_GATE_DATABASE_PASSWORD_FILE": "pw"}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"\n", "empty"),
        (b"hunter22\nsecond line\n", "more than one line"),
        (b"hunter22" * 1000, "larger than 4096 bytes"),
        (b"\xff\xfehunter22", "not UTF-8"),
    ],
)
def test_a_bad_password_file_is_a_usage_error_naming_the_file_not_its_content(
    tmp_path, content, problem
):
    path = tmp_path / "pw"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=problem) as caught:
        read_password_file(path)
    assert str(path) in str(caught.value)
    assert "hunter22" not in str(caught.value)


def test_a_password_file_keeps_everything_but_the_line_break(tmp_path):
    path = tmp_path / "pw"
    path.write_bytes(b" spaced  pass\r\n")
    assert read_password_file(path) == " spaced  pass"


def test_settings_are_read_without_importing_sqlalchemy():
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys; from pathlib import Path; from gate.store.settings import database_settings; "
        "database_settings({}, cwd=Path('.')); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_default_settings_are_the_default_url():
    assert DatabaseSettings().url == parse_database_url(DEFAULT_DATABASE_URL)
    assert Path(DatabaseSettings().url.path or "").name == "eval-gate.db"
