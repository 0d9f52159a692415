"""The history pages' settings: read from the environment, checked, and kept secret."""

from __future__ import annotations

import pytest

from gate.core.errors import UsageError
from gate.server.settings import build_server_settings
from tests.server.ui.helpers import TOKEN

SECRET = "ui-SECRET-signing-key-0123456789abcdefgh"


def settings(**environ):
    return build_server_settings({"EVAL_GATE_TOKENS": TOKEN, **environ})


def test_the_pages_settings_are_read():
    read = settings(
        EVAL_GATE_UI_SECRET=SECRET,
        EVAL_GATE_UI_TRUST_PROXY="true",
        EVAL_GATE_GITHUB_WEB_URL="https://ghe.example.com/",
    )
    assert (read.ui_secret, read.ui_trust_proxy) == (SECRET, True)
    assert read.github_web_url == "https://ghe.example.com"
    defaults = settings()
    assert (defaults.ui_secret, defaults.ui_trust_proxy) == (None, False)
    assert defaults.github_web_url == "https://github.com"


def test_the_signing_key_is_a_secret():
    read = settings(EVAL_GATE_UI_SECRET=SECRET)
    assert SECRET in read.secrets  # redacted wherever the server's secrets are
    assert SECRET not in repr(read)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("EVAL_GATE_UI_SECRET", "short-" + "x" * 20, "shorter than 32 characters"),
        ("EVAL_GATE_UI_TRUST_PROXY", "maybe", "must be true or false"),
        ("EVAL_GATE_GITHUB_WEB_URL", "ftp://x", "must be an http(s) URL"),
        ("EVAL_GATE_GITHUB_WEB_URL", "https://user:pw@x", "must not contain credentials"),
    ],
)
def test_a_bad_value_is_one_line_that_says_what_is_wrong(name, value, problem):
    with pytest.raises(UsageError) as raised:
        settings(**{name: value})
    message = str(raised.value)
    assert name in message and problem in message
    if name == "EVAL_GATE_UI_SECRET":
        assert value not in message
