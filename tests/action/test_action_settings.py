"""The Action's inputs (gate.action.inputs): INPUT_* variables in, validated settings out."""

from __future__ import annotations

import pytest

from gate.action.inputs import (
    COMMENT_MODES,
    FAIL_ON,
    ActionSettings,
    input_env_name,
    read_action_settings,
)
from gate.core.errors import ExitCode, UsageError
from gate.core.gate_id import derive_gate_id

KEY = "rf_live_0123456789abcdef"
TOKEN = "ghs_0123456789abcdefABCDEF"


def inputs(**values: str) -> dict[str, str]:
    """The environ the runner builds: `api_key="x"` -> `INPUT_API-KEY=x`."""
    env = {"INPUT_API-KEY": KEY}
    for name, value in values.items():
        env[input_env_name(name.replace("_", "-"))] = value
    return env


def problem(**values: str) -> str:
    with pytest.raises(UsageError) as caught:
        read_action_settings(inputs(**values))
    assert caught.value.exit_code == ExitCode.USAGE
    return str(caught.value)


def test_env_names_keep_hyphens():
    assert input_env_name("eval-ids") == "INPUT_EVAL-IDS"
    assert input_env_name("api-key") == "INPUT_API-KEY"
    assert input_env_name("a name") == "INPUT_A_NAME"


def test_only_the_api_key_given():
    settings = read_action_settings({"INPUT_API-KEY": f"  {KEY}\n"})
    assert settings == ActionSettings(
        api_key=KEY, gate_id="github-eval-gate-yml", status_context="eval-gate/github-eval-gate-yml"
    )
    assert settings.config == ".github/eval-gate.yml"
    assert (settings.comment, settings.fail_on, settings.wait) == ("update", "error", 600.0)
    assert settings.commit_status is False
    assert settings.github_token is None


def test_every_input_given():
    env = inputs(
        github_token=TOKEN,
        workspace="acme-vision",
        eval_ids="a1, b2",
        baseline="auto",
        config="ci/gates/detector.yml",
        comment="on-failure",
        gate_id="detector.v2",
        wait="12.5",
        fail_on="warning",
        api_url="https://rf.example.com/v1/",
        commit_status="true",
        status_context="models/detector",
    )
    assert read_action_settings(env) == ActionSettings(
        api_key=KEY,
        github_token=TOKEN,
        workspace="acme-vision",
        eval_ids=("a1", "b2"),
        baseline="auto",
        config="ci/gates/detector.yml",
        comment="on-failure",
        gate_id="detector.v2",
        wait=12.5,
        fail_on="warning",
        api_url="https://rf.example.com/v1",
        commit_status=True,
        status_context="models/detector",
    )


def test_empty_inputs_mean_not_given():
    # The runner passes every declared input; those without a default arrive empty.
    env = inputs(
        github_token="",
        workspace="",
        eval_ids=" ",
        baseline="",
        config="",
        comment="",
        gate_id="",
        wait="",
        fail_on="",
        api_url="",
        commit_status="",
        status_context="",
    )
    assert read_action_settings(env) == read_action_settings({"INPUT_API-KEY": KEY})


def test_missing_api_key():
    for env in ({}, {"INPUT_API-KEY": ""}, {"INPUT_API-KEY": " \n"}):
        with pytest.raises(UsageError) as caught:
            read_action_settings(env)
        assert str(caught.value) == (
            "input api-key is required: add `api-key: ${{ secrets.ROBOFLOW_API_KEY }}` under with: "
            "(or submit the gate to an eval-gate service with service-url, which fetches with its "
            "own key)"
        )


def test_underscore_names_are_not_what_the_runner_sets():
    # `INPUT_API_KEY` is not the runner's name for `api-key`: it is not read.
    with pytest.raises(UsageError, match="api-key is required"):
        read_action_settings({"INPUT_API_KEY": KEY})


def test_every_problem_is_reported_at_once():
    env = inputs(
        wait="soon",
        comment="always",
        fail_on="sometimes",
        api_url="ftp://x",
        commit_status="maybe",
        gate_id="-bad",
    )
    del env["INPUT_API-KEY"]
    with pytest.raises(UsageError) as caught:
        read_action_settings(env)
    message = str(caught.value)
    parts = message.split("; ")
    assert len(parts) == 7
    assert parts[0].startswith("input api-key is required")
    for fragment in ("wait", "comment", "fail-on", "api-url", "commit-status", "gate-id"):
        assert any(part.startswith(f"input {fragment} ") for part in parts), fragment
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", ("a",)),
        ("a,b", ("a", "b")),
        ("a, b ,c", ("a", "b", "c")),
        ("a b\tc", ("a", "b", "c")),
        ("a\nb\r\nc\n", ("a", "b", "c")),
        (",,a,,\n\n b,", ("a", "b")),
        ("b a b a c", ("b", "a", "c")),
        ("huUF720inUcymARwqAGK", ("huUF720inUcymARwqAGK",)),
    ],
)
def test_eval_ids_are_split_and_deduplicated_in_order(value, expected):
    assert read_action_settings(inputs(eval_ids=value)).eval_ids == expected


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("600", 600.0), (" 1.5 ", 1.5)])
def test_wait(value, seconds):
    assert read_action_settings(inputs(wait=value)).wait == seconds


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", "-inf", "1e400", "10s", "0x10"])
def test_bad_wait(value):
    assert problem(wait=value) == (f"input wait must be a number of seconds >= 0, got {value!r}")


def test_wait_longer_than_a_job():
    assert "at most 21600 seconds" in problem(wait="86400")


@pytest.mark.parametrize("mode", COMMENT_MODES)
def test_comment_modes(mode):
    assert read_action_settings(inputs(comment=mode.upper())).comment == mode


def test_bad_comment_lists_the_choices():
    assert problem(comment="sticky") == (
        "input comment must be one of update, new, on-failure, off, got 'sticky'"
    )


@pytest.mark.parametrize("value", FAIL_ON)
def test_fail_on(value):
    assert read_action_settings(inputs(fail_on=value)).fail_on == value


def test_bad_fail_on_lists_the_choices():
    assert (
        problem(fail_on="fail") == "input fail-on must be one of error, warning, never, got 'fail'"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("True", True),
        ("YES", True),
        ("1", True),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("0", False),
    ],
)
def test_commit_status(value, expected):
    assert read_action_settings(inputs(commit_status=value)).commit_status is expected


@pytest.mark.parametrize("value", ["2", "y", "enabled", "truee"])
def test_bad_commit_status(value):
    assert (
        problem(commit_status=value) == f"input commit-status must be true or false, got {value!r}"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://api.roboflow.com/", "https://api.roboflow.com"),
        ("HTTPS://rf.example.com/base//", "HTTPS://rf.example.com/base"),
    ],
)
def test_api_url(value, expected):
    assert read_action_settings(inputs(api_url=value)).api_url == expected


@pytest.mark.parametrize(
    "value", ["ftp://x.example", "api.roboflow.com", "https://", "http://[::1", "file:///etc"]
)
def test_bad_api_url(value):
    assert problem(api_url=value).startswith("input api-url must be an http:// or https:// URL")


@pytest.mark.parametrize(
    ("value", "warned"),
    [
        ("http://roboflow.example.com/base", True),
        ("HTTP://10.1.2.3:8080", True),
        ("https://roboflow.example.com", False),
        ("http://127.0.0.1:8080", False),
        ("http://localhost:8080", False),
        ("http://[::1]:8080", False),
    ],
)
def test_a_plain_http_api_url_off_loopback_is_a_warning(value, warned):
    settings = read_action_settings(inputs(api_url=value))
    if not warned:
        assert settings.warnings == ()
        return
    [warning] = settings.warnings
    assert warning.startswith("input api-url is http://")
    assert "the Roboflow API key will be sent unencrypted; use https://" in warning
    assert KEY not in warning
    assert read_action_settings(inputs()).warnings == ()


def test_the_api_key_never_shows_in_an_error():
    message = problem(api_url=f"roboflow.com/?api_key={KEY}", wait=KEY)
    assert KEY not in message
    assert "***" in message


def test_secrets_are_not_in_the_repr():
    settings = read_action_settings(inputs(github_token=TOKEN))
    assert KEY not in repr(settings) and TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("config", "gate_id"),
    [
        (".github/eval-gate.yml", "github-eval-gate-yml"),
        ("eval-gate.yml", "eval-gate-yml"),
        ("CI/Gates/Detector.YAML", "ci-gates-detector-yaml"),
        ("./a__b..c", "a-b-c"),
        ("...", "eval-gate"),
        ("ü/ß.yml", "yml"),
    ],
)
def test_gate_id_is_derived_from_the_config_path(config, gate_id):
    assert derive_gate_id(config) == gate_id
    settings = read_action_settings(inputs(config=config))
    assert settings.gate_id == gate_id
    assert settings.status_context == f"eval-gate/{gate_id}"


def test_a_derived_gate_id_is_at_most_64_characters_and_ends_clean():
    config = "a" * 63 + "/" + "b" * 100
    gate_id = derive_gate_id(config)
    assert gate_id == "a" * 63
    assert len(derive_gate_id("x" * 200)) == 64


@pytest.mark.parametrize("value", ["detector", "a", "A.b_c-1", "9" * 64])
def test_given_gate_id(value):
    settings = read_action_settings(inputs(gate_id=value))
    assert settings.gate_id == value
    assert settings.status_context == f"eval-gate/{value}"


@pytest.mark.parametrize("value", ["-x", ".x", "a b", "a/b", "x" * 65, "détecteur", "a<b>"])
def test_bad_gate_id(value):
    assert problem(gate_id=value).startswith("input gate-id must be 1 to 64 letters")


def test_bad_status_context():
    assert "status-context" in problem(status_context="x" * 256)
    env = inputs()
    env["INPUT_STATUS-CONTEXT"] = "a\x07b"
    with pytest.raises(UsageError, match="status-context"):
        read_action_settings(env)
