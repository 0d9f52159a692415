"""The server's Roboflow keys for durable gates: a key per workspace (else the default) from a
keys file refused by line number, never by its text (its GitHub credentials are
gate.github.credentials', tested with the App)."""

from __future__ import annotations

import pytest

from gate.core.errors import UsageError
from gate.worker import RoboflowKeys, parse_keys_file

SECRET = "rf_KEYSFILE_secret_0123456789"


def test_a_keys_file_maps_workspaces_to_keys_skipping_comments_and_blank_lines():
    text = f"# team keys\n\nvision = {SECRET}\nother=k2\n"
    assert parse_keys_file(text) == {"vision": SECRET, "other": "k2"}


def test_every_bad_line_of_a_keys_file_is_named_by_number_never_by_its_text():
    text = f"ok=k1\n{SECRET}\n=k3\nok=k4\nws=has space\nempty=\n"
    with pytest.raises(UsageError) as caught:
        parse_keys_file(text, "EVAL_GATE_ROBOFLOW_KEYS_FILE (/etc/keys)")
    message = str(caught.value)
    assert message.startswith("EVAL_GATE_ROBOFLOW_KEYS_FILE (/etc/keys): line 2 is not")
    for number in (3, 4, 5, 6):
        assert f"line {number} " in message
    assert SECRET not in message and "has space" not in message


def test_a_workspace_s_own_key_wins_over_the_default_and_a_missing_one_says_how_to_add_it():
    keys = RoboflowKeys(default="default-key", by_workspace={"vision": "vision-key"})
    assert keys.key_for("vision") == "vision-key"
    assert keys.key_for("other") == "default-key"
    only = RoboflowKeys(by_workspace={"vision": "vision-key"})
    assert only.key_for("other") is None
    said = only.missing_key("other")
    assert "'other'" in said and "EVAL_GATE_ROBOFLOW_KEYS_FILE" in said and "vision" in said
    assert "vision-key" not in said and "vision-key" not in repr(only)
    assert set(keys.secrets) == {"default-key", "vision-key"}
