"""The service's settings for durable gates: declared once with the others, read at start, the
keys file's problems named by line, every secret kept out of `repr` and of messages."""

from __future__ import annotations

import pytest

from gate.core.errors import UsageError
from gate.github.credentials import StaticToken
from gate.server.durable import worker_settings
from gate.server.settings import build_server_settings

TOKEN = "bearer-SECRET-token-abcdefghijklmnop"
GH = "ghp_DURABLE_secret_token_0123456789"
RF = "rf_DURABLE_secret_key_0123456789"


def test_durable_settings_from_the_environment_reach_the_worker(tmp_path):
    (tmp_path / "keys").write_text(f"vision={RF}\n", encoding="utf-8")
    settings = build_server_settings(
        {
            "EVAL_GATE_TOKENS": TOKEN,
            "EVAL_GATE_LEASE_SECONDS": "5",
            "EVAL_GATE_RETENTION_DAYS": "7",
            "EVAL_GATE_GITHUB_TOKEN": GH,
            "EVAL_GATE_ROBOFLOW_KEYS_FILE": "keys",
            "EVAL_GATE_PUBLIC_URL": "https://gates.example.com/",
            "EVAL_GATE_DATABASE_URL": "sqlite:///gates.db",
            "EVAL_GATE_POLL_INTERVAL": "2",
        },
        cwd=tmp_path,
    )
    assert settings.database is not None
    assert settings.database.url.path == str(tmp_path / "gates.db")
    worker = worker_settings(settings, StaticToken(GH))
    assert (worker.lease_ms, worker.poll_interval_ms) == (5_000, 2_000)
    assert worker.retention_ms == 7 * 86_400_000
    assert worker.base_url == "https://gates.example.com"
    assert worker.keys.key_for("vision") == RF
    assert worker.github is not None
    assert {GH, RF} <= set(settings.secrets)
    shown = repr(settings) + repr(worker)
    assert GH not in shown and RF not in shown


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("EVAL_GATE_LEASE_SECONDS", "1", "EVAL_GATE_LEASE_SECONDS must be a finite number"),
        ("EVAL_GATE_RETENTION_DAYS", "0", "EVAL_GATE_RETENTION_DAYS must be between 1"),
        ("EVAL_GATE_PUBLIC_URL", "ftp://x", "EVAL_GATE_PUBLIC_URL must be an http(s) URL"),
        ("EVAL_GATE_ROBOFLOW_KEYS_FILE", "nope", "EVAL_GATE_ROBOFLOW_KEYS_FILE ("),
        ("EVAL_GATE_DATABASE_URL", "mysql://db/x", "EVAL_GATE_DATABASE_URL has scheme"),
        ("EVAL_GATE_GITHUB_TOKEN", "has space", "EVAL_GATE_GITHUB_TOKEN contains spaces"),
    ],
)
def test_a_bad_durable_setting_stops_the_start_with_one_line(tmp_path, name, value, said):
    with pytest.raises(UsageError) as caught:
        build_server_settings({"EVAL_GATE_TOKENS": TOKEN, name: value}, cwd=tmp_path)
    assert said in str(caught.value)
    assert "has space" not in str(caught.value)


def test_a_malformed_keys_file_is_refused_by_line_never_echoing_a_key(tmp_path):
    (tmp_path / "keys").write_text(f"vision={RF}\n{RF}\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        build_server_settings(
            {"EVAL_GATE_TOKENS": TOKEN, "EVAL_GATE_ROBOFLOW_KEYS_FILE": "keys"}, cwd=tmp_path
        )
    assert "line 2 is not workspace=KEY" in str(caught.value)
    assert RF not in str(caught.value)
