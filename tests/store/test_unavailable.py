"""A database that cannot be used is StoreUnavailable: one line naming the database and the
reason, with the password masked — in the message, the store's repr and the shown URL."""

from __future__ import annotations

import socket

import pytest

from gate.core.errors import ExitCode
from gate.store import StoreUnavailable, open_store
from gate.store.settings import DatabaseSettings, parse_database_url
from tests.store.conftest import need_postgres

PASSWORD = "s3cr3t-Pa55word"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def unavailable(url, **kwargs) -> StoreUnavailable:
    store = open_store(url, **kwargs)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.check()
        with pytest.raises(StoreUnavailable):
            await store.upgrade()
    finally:
        await store.close()
    error = caught.value
    assert error.exit_code == ExitCode.UNAVAILABLE
    assert "\n" not in str(error)
    return error


async def test_a_sqlite_file_in_a_missing_directory_is_unavailable_and_says_so(tmp_path):
    error = await unavailable(f"sqlite:///{tmp_path}/missing/gates.db")
    assert str(error) == (
        f"database sqlite:///{tmp_path}/missing/gates.db is unavailable: directory "
        f"{tmp_path}/missing does not exist; create it or mount the volume there"
    )


async def test_a_sqlite_path_that_is_a_directory_is_unavailable(tmp_path):
    error = await unavailable(f"sqlite:///{tmp_path}")
    assert f"{tmp_path} is a directory; name a file in it" in str(error)


async def test_a_sqlite_file_sqlite_cannot_open_is_unavailable_with_a_hint(tmp_path):
    (tmp_path / "gates.db").write_bytes(b"this is not a database" * 100)
    error = await unavailable(f"sqlite:///{tmp_path}/gates.db")
    assert "file is not a database" in str(error)


async def test_an_unreachable_postgres_is_unavailable_and_the_password_never_shows():
    url = f"postgresql://gate:{PASSWORD}@127.0.0.1:{closed_port()}/gates"
    error = await unavailable(url)
    assert "database postgresql://gate:***@127.0.0.1:" in str(error)
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(open_store(url))


async def test_a_wrong_password_is_unavailable_and_neither_password_shows(postgres, tmp_path):
    good = parse_database_url(need_postgres(postgres).admin_url)
    wrong = good.with_password(PASSWORD)
    error = await unavailable_settings(DatabaseSettings(url=wrong))
    assert "password authentication failed" in str(error)
    assert PASSWORD not in str(error)
    assert good.password not in str(error)


async def test_the_password_file_is_used_when_the_url_has_none(postgres, tmp_path):
    admin = parse_database_url(need_postgres(postgres).admin_url)
    secret_file = tmp_path / "pg-password"
    secret_file.write_text(f"{admin.password}\n", encoding="utf-8")
    store = open_store(DatabaseSettings(url=admin.with_password(None), password_file=secret_file))
    try:
        assert await store.current() in (None, "0001", "0002")  # it connected
        assert admin.password not in repr(store) + store.shown_url
    finally:
        await store.close()


async def unavailable_settings(settings) -> StoreUnavailable:
    store = open_store(settings)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.check()
    finally:
        await store.close()
    return caught.value
