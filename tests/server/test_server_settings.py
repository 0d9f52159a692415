"""`eval-gate serve` settings: environment and flags in, validated settings or one UsageError."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from gate.core.errors import UsageError
from gate.server.settings import SETTINGS, ServerSettings, build_server_settings, settings_help
from gate.store.settings import DATABASE_SETTINGS, database_settings
from gate.worker import AllowList

TOKEN = "bearer-SECRET-token-abcdefghijklmnop"
OTHER = "other-SECRET-token-0123456789abcd"
KEY = "rf_SECRET_key_0123456789"


def test_defaults():
    settings = build_server_settings({"EVAL_GATE_TOKENS": TOKEN})
    here = database_settings({}, cwd=Path.cwd())  # sqlite:///eval-gate.db, in the cwd
    assert settings == ServerSettings(tokens=(TOKEN,), database=here)
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.max_body == 1024 * 1024
    assert settings.request_deadline == 120.0
    assert settings.max_concurrent_gates == 16
    assert settings.upstream_concurrency == 32
    assert settings.cache_bytes == 256 * 1024 * 1024
    assert settings.grace == 30.0
    assert settings.github_api_url == "https://api.github.com"
    assert settings.api_url == "https://api.roboflow.com"
    assert settings.roboflow_api_key is None
    assert settings.auth_enabled


def test_every_setting_from_the_environment():
    environ = {
        "EVAL_GATE_TOKENS": f" {TOKEN}, {OTHER}\n{TOKEN} ",
        "ROBOFLOW_API_KEY": KEY,
        "ROBOFLOW_API_URL": "http://127.0.0.1:9000/",
        "ROBOFLOW_WORKSPACE": "ws",
        "EVAL_GATE_HOST": "0.0.0.0",
        "EVAL_GATE_PORT": "9090",
        "EVAL_GATE_MAX_BODY": "65536",
        "EVAL_GATE_REQUEST_DEADLINE": "30",
        "EVAL_GATE_MAX_CONCURRENT_GATES": "4",
        "EVAL_GATE_UPSTREAM_CONCURRENCY": "8",
        "EVAL_GATE_UPSTREAM_TIMEOUT": "10",
        "EVAL_GATE_POLL_INTERVAL": "2.5",
        "EVAL_GATE_CACHE_BYTES": "1_000_000",
        "EVAL_GATE_GRACE": "0",
        "EVAL_GATE_GITHUB_API_URL": "https://ghe.example.com/api/v3/",
    }
    settings = build_server_settings(environ)
    assert settings.tokens == (TOKEN, OTHER)
    assert settings.roboflow_api_key == KEY
    assert settings.api_url == "http://127.0.0.1:9000"
    assert settings.workspace == "ws"
    assert (settings.host, settings.port) == ("0.0.0.0", 9090)
    assert settings.max_body == 65536
    assert settings.request_deadline == 30.0
    assert settings.max_concurrent_gates == 4
    assert settings.upstream_concurrency == 8
    assert settings.upstream_timeout == 10.0
    assert settings.poll_interval == 2.5
    assert settings.cache_bytes == 1_000_000
    assert settings.grace == 0.0
    assert settings.github_api_url == "https://ghe.example.com/api/v3"


def test_flags_win_over_the_environment(tmp_path):
    (tmp_path / "tokens").write_text(f"# the CI fleet\n{OTHER}\n\n")
    environ = {"EVAL_GATE_HOST": "10.0.0.1", "EVAL_GATE_PORT": "1", "EVAL_GATE_TOKENS_FILE": "x"}
    settings = build_server_settings(
        environ, host="127.0.0.2", port=0, tokens_file="tokens", cwd=tmp_path
    )
    assert (settings.host, settings.port) == ("127.0.0.2", 0)
    assert settings.tokens == (OTHER,)


def test_tokens_from_both_the_variable_and_the_file(tmp_path):
    path = tmp_path / "tokens"
    path.write_text(f"{OTHER}\n")
    settings = build_server_settings(
        {"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_TOKENS_FILE": str(path)}
    )
    assert settings.tokens == (TOKEN, OTHER)


def test_no_token_refuses_to_start():
    with pytest.raises(UsageError) as caught:
        build_server_settings({"ROBOFLOW_API_KEY": KEY})
    message = str(caught.value)
    assert "EVAL_GATE_TOKENS" in message and "--insecure-no-auth" in message
    assert KEY not in message


def test_insecure_no_auth_is_explicit():
    settings = build_server_settings({}, insecure_no_auth=True)
    assert settings.tokens == ()
    assert not settings.auth_enabled
    with pytest.raises(UsageError, match="drop one"):
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN}, insecure_no_auth=True)


def test_every_problem_is_reported_at_once_without_secrets(tmp_path):
    environ = {
        "EVAL_GATE_TOKENS": "abc123xyz," + TOKEN,
        "EVAL_GATE_TOKENS_FILE": str(tmp_path / "missing"),
        "EVAL_GATE_PORT": "http",
        "EVAL_GATE_MAX_BODY": "12",
        "EVAL_GATE_REQUEST_DEADLINE": "-1",
        "EVAL_GATE_MAX_CONCURRENT_GATES": "0",
        "EVAL_GATE_GRACE": "nan",
        "ROBOFLOW_API_URL": "https://user:hunter2@api.example.com",
        "EVAL_GATE_GITHUB_API_URL": "ftp://github",
    }
    with pytest.raises(UsageError) as caught:
        build_server_settings(environ, port=70000)
    message = str(caught.value)
    for part in (
        "tokens file",
        "bearer token #1 is shorter than 16",
        "EVAL_GATE_PORT must be a whole number",
        "--port must be between 0 and 65535",
        "EVAL_GATE_MAX_BODY must be at least 1024",
        "EVAL_GATE_REQUEST_DEADLINE must be a finite number of seconds > 0",
        "EVAL_GATE_MAX_CONCURRENT_GATES must be at least 1",
        "EVAL_GATE_GRACE must be a finite number",
        "ROBOFLOW_API_URL must not contain credentials",
        "EVAL_GATE_GITHUB_API_URL must be an http(s) URL",
    ):
        assert part in message, part
    assert "hunter2" not in message and TOKEN not in message and "abc123xyz" not in message


def test_repr_hides_secrets():
    settings = build_server_settings({"EVAL_GATE_TOKENS": TOKEN, "ROBOFLOW_API_KEY": KEY})
    assert TOKEN not in repr(settings) and KEY not in repr(settings)
    assert settings.secrets == (TOKEN, KEY)


def test_the_work_bounds_have_defaults_and_come_from_the_environment():
    settings = build_server_settings({"EVAL_GATE_TOKENS": TOKEN})
    assert (settings.max_checks, settings.work_threads) == (20_000, 2)
    settings = build_server_settings(
        {"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_MAX_CHECKS": "5000", "EVAL_GATE_WORK_THREADS": "4"}
    )
    assert (settings.max_checks, settings.work_threads) == (5000, 4)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "1e999", "Infinity"])
@pytest.mark.parametrize(
    "name",
    [
        "EVAL_GATE_REQUEST_DEADLINE",
        "EVAL_GATE_UPSTREAM_TIMEOUT",
        "EVAL_GATE_POLL_INTERVAL",
        "EVAL_GATE_GRACE",
        "EVAL_GATE_MAX_CHECKS",
        "EVAL_GATE_MAX_BODY",
        "EVAL_GATE_WORK_THREADS",
        "EVAL_GATE_PORT",
    ],
)
def test_non_finite_numbers_are_usage_errors(name, value):
    with pytest.raises(UsageError) as caught:
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN, name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} must be a ")
    assert repr(value) in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("EVAL_GATE_REQUEST_DEADLINE", "86401", "at most 86,400"),
        ("EVAL_GATE_GRACE", "1e300", "at most 86,400"),
        ("EVAL_GATE_MAX_CHECKS", "0", "between 1 and 10000000"),
        ("EVAL_GATE_MAX_CHECKS", "10000001", "between 1 and 10000000"),
        ("EVAL_GATE_WORK_THREADS", "65", "between 1 and 64"),
    ],
)
def test_out_of_range_bounds_are_usage_errors(name, value, expected):
    with pytest.raises(UsageError, match=name) as caught:
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN, name: value})
    assert expected in str(caught.value)


@pytest.mark.parametrize("key", ["rf key with spaces", "rf\tkey", "rf_kéy"])
def test_a_server_key_that_cannot_be_a_key_is_a_usage_error(key):
    with pytest.raises(UsageError) as caught:
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN, "ROBOFLOW_API_KEY": key})
    message = str(caught.value)
    assert "ROBOFLOW_API_KEY contains spaces, control or non-ASCII characters" in message
    assert key not in message


def test_every_setting_is_declared_once():
    # gate.server.settings.SETTINGS is the one list: every field of ServerSettings but the
    # --insecure-no-auth switch has a row (the tokens file is read into `tokens`, the keys
    # file into `roboflow_keys`; `database` is the store's DATABASE_SETTINGS). The App's id and
    # key file are read into one field, `github_app` (both or neither).
    declared = [o.field for o in SETTINGS]
    assert len(declared) == len(set(declared))
    names = {f.name for f in fields(ServerSettings)} - {"insecure_no_auth", "roboflow_keys"}
    assert {o.field for o in DATABASE_SETTINGS} <= {"database_url", "database_password_file"}
    names -= {"database"}
    read_into = {"tokens_file", "github_app_id", "github_app_private_key_file"}
    assert names == set(declared) - read_into | {"github_app"}
    for option in SETTINGS:
        if option.field in names and option.field != "tokens":
            default = getattr(ServerSettings(), option.field)
            assert option.default == default, option.name


@pytest.mark.parametrize("value", ["0.0001", "0.5", "0.999"])
def test_the_poll_interval_has_a_floor_of_one_second(value):
    # A poll interval of 0.0001 s sent 2,309 requests in 3 s.
    with pytest.raises(UsageError, match="EVAL_GATE_POLL_INTERVAL") as caught:
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_POLL_INTERVAL": value})
    assert "seconds >= 1 and at most 86,400" in str(caught.value)
    one = build_server_settings({"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_POLL_INTERVAL": "1"})
    assert one.poll_interval == 1.0


CALLBACK_SECRET = "cbk-SECRET-callback-0123456789ab"


def test_callbacks_are_off_unless_an_operator_allows_them():
    settings = build_server_settings({"EVAL_GATE_TOKENS": TOKEN})
    assert settings.callback_allow == AllowList()
    assert settings.callback_secret is None
    listed = settings_help().replace("\n", " ")
    assert re.search(r"EVAL_GATE_CALLBACK_ALLOW[,.]", listed)  # no "(default )"


def test_the_callback_settings_come_from_the_environment_the_secret_kept_out_of_repr():
    settings = build_server_settings(
        {
            "EVAL_GATE_TOKENS": TOKEN,
            "EVAL_GATE_CALLBACK_SECRET": CALLBACK_SECRET,
            "EVAL_GATE_CALLBACK_ALLOW": "https://Hooks.example.com/eval-gate, http://10.0.0.5:8000",
        }
    )
    assert settings.callback_secret == CALLBACK_SECRET
    assert str(settings.callback_allow) == (
        "https://hooks.example.com/eval-gate http://10.0.0.5:8000/"
    )
    assert CALLBACK_SECRET in settings.secrets  # so the logs mask it
    assert CALLBACK_SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("short-SECRET-15", "EVAL_GATE_CALLBACK_SECRET is shorter than 16 characters"),
        ("cbk SECRET with spaces 0123", "EVAL_GATE_CALLBACK_SECRET contains spaces, control"),
        ("cbk-SECRET-kéy-0123456789ab", "EVAL_GATE_CALLBACK_SECRET contains spaces, control"),
    ],
)
def test_a_callback_secret_that_is_short_or_odd_stops_the_start_without_showing_it(
    secret, expected
):
    with pytest.raises(UsageError) as caught:
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_CALLBACK_SECRET": secret})
    message = str(caught.value)
    assert expected in message
    assert secret not in message


def test_an_allow_list_without_a_secret_stops_the_start():
    with pytest.raises(UsageError) as caught:
        build_server_settings(
            {"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_CALLBACK_ALLOW": "https://hooks.example.com"}
        )
    assert str(caught.value).startswith(
        "EVAL_GATE_CALLBACK_ALLOW is set but EVAL_GATE_CALLBACK_SECRET is not: callbacks are "
        "always signed; set it to at least 16 characters"
    )
    # A secret that is set but refused is said once, as itself.
    with pytest.raises(UsageError) as caught:
        build_server_settings(
            {
                "EVAL_GATE_TOKENS": TOKEN,
                "EVAL_GATE_CALLBACK_ALLOW": "https://hooks.example.com",
                "EVAL_GATE_CALLBACK_SECRET": "short",
            }
        )
    assert "is set but" not in str(caught.value)


def test_an_allow_list_entry_that_is_not_a_prefix_stops_the_start_without_showing_it():
    with pytest.raises(UsageError) as caught:
        build_server_settings(
            {
                "EVAL_GATE_TOKENS": TOKEN,
                "EVAL_GATE_CALLBACK_SECRET": CALLBACK_SECRET,
                "EVAL_GATE_CALLBACK_ALLOW": "https://ok.example https://u:SECRET-pw@hooks.example.com",
            }
        )
    message = str(caught.value)
    assert message.startswith(
        "EVAL_GATE_CALLBACK_ALLOW has entries that are not URL prefixes: entry #2 must not "
        "contain user:password@"
    )
    assert "SECRET-pw" not in message


# --------------------------------------------------------------------------- the GitHub App

WEBHOOK_SECRET = "whsec-SECRET-0123456789abcdef"


def pem_pieces(pem: bytes) -> set[str]:
    """Every 8 characters in a row of a PEM file's body: none may be shown."""
    body = "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))
    return {body[i : i + 8] for i in range(len(body) - 7)}


def shows_a_piece(text: str, pieces: set[str]) -> bool:
    return any(text[i : i + 8] in pieces for i in range(len(text) - 7))


def test_the_app_s_id_and_key_are_read_once_into_its_credentials(tmp_path, app_private_key):
    from tests.github_app_standin import pem_of  # noqa: PLC0415 - cryptography, only here

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "app.pem").write_bytes(pem_of(app_private_key))
    settings = build_server_settings(
        {
            "EVAL_GATE_TOKENS": TOKEN,
            "EVAL_GATE_GITHUB_APP_ID": "4242",
            "EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE": "keys/app.pem",  # from the working dir
            "EVAL_GATE_GITHUB_WEBHOOK_SECRET": f" {WEBHOOK_SECRET} ",
        },
        cwd=tmp_path,
    )
    assert settings.github_app is not None
    assert settings.github_app.app_id == 4242
    assert settings.github_app.key.private_numbers() == app_private_key.private_numbers()
    assert settings.github_webhook_secret == WEBHOOK_SECRET
    assert WEBHOOK_SECRET in settings.secrets
    text = repr(settings)
    assert WEBHOOK_SECRET not in text and "github_app" not in text
    assert not shows_a_piece(text, pem_pieces(pem_of(app_private_key)))


def test_without_the_app_s_settings_there_is_no_app():
    settings = build_server_settings({"EVAL_GATE_TOKENS": TOKEN})
    assert (settings.github_app, settings.github_webhook_secret) == (None, None)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("EVAL_GATE_GITHUB_APP_ID", "EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE"),
        ("EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE", "EVAL_GATE_GITHUB_APP_ID"),
    ],
)
def test_the_app_needs_both_its_id_and_its_key(given, missing):
    with pytest.raises(UsageError) as caught:
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN, given: "4242"})
    assert str(caught.value) == (
        f"{given} is set but {missing} is not: the service acts as a GitHub App with both "
        "(its id and its private key), or neither"
    )


@pytest.mark.parametrize("value", ["Iv1.8a61f9b3a7aba766", "-3", "0", "04242", "12.5", "1e9"])
def test_an_app_id_that_is_not_one_is_one_problem(tmp_path, value):
    with pytest.raises(UsageError) as caught:
        build_server_settings(
            {
                "EVAL_GATE_TOKENS": TOKEN,
                "EVAL_GATE_GITHUB_APP_ID": value,
                "EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE": str(tmp_path / "app.pem"),
            }
        )
    assert str(caught.value) == (
        "EVAL_GATE_GITHUB_APP_ID must be the App's numeric id (App ID on its settings page), "
        "not its client id"
    )


def test_a_key_file_that_is_not_the_app_s_key_stops_the_start_in_one_line(
    tmp_path, app_private_key
):
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    from tests.github_app_standin import pem_of  # noqa: PLC0415 - cryptography, only here

    public = app_private_key.public_key()
    pem = pem_of(app_private_key)
    damaged = tmp_path / "damaged.pem"
    damaged.write_bytes(pem[: len(pem) // 2])
    wrong = tmp_path / "public.pem"
    wrong.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for path, says in [
        (damaged, "is not a usable PEM private key (damaged or cut short)"),
        (wrong, "holds a PUBLIC KEY, not a private key"),
        (tmp_path / "missing.pem", "not found"),
    ]:
        with pytest.raises(UsageError) as caught:
            build_server_settings(
                {
                    "EVAL_GATE_TOKENS": TOKEN,
                    "EVAL_GATE_GITHUB_APP_ID": "4242",
                    "EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE": str(path),
                }
            )
        message = str(caught.value)
        assert message.startswith("EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE: ")
        assert says in message and "\n" not in message
        assert not shows_a_piece(message, pem_pieces(pem))


def test_a_short_webhook_secret_is_refused_without_echoing_it():
    with pytest.raises(UsageError) as caught:
        build_server_settings(
            {"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_GITHUB_WEBHOOK_SECRET": "hunter2hunter2"}
        )
    message = str(caught.value)
    assert message.startswith("EVAL_GATE_GITHUB_WEBHOOK_SECRET is shorter than 16 characters")
    assert "hunter2" not in message
