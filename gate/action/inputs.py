"""The Action's inputs, read from the `INPUT_*` variables the runner sets, validated in one go.

The runner turns each input `name` into the variable `INPUT_` + `name.upper()` with spaces
replaced by `_` and hyphens kept (`eval-ids` -> `INPUT_EVAL-IDS`), and passes every input the
action declares, with its default, as an empty string when it has none. So an empty value means
"not given". `required: true` in action.yml is not enforced by the runner: it is checked here.

Pure: an environ mapping in, `ActionSettings` out. Every problem is collected first and raised
as one `UsageError`, so a user fixes all their inputs in one round.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gate.core.errors import UsageError
from gate.core.gate_id import MAX_STATUS_CONTEXT, derive_gate_id, gate_id_problem
from gate.core.gate_id import status_context as default_status_context
from gate.core.model import COMMENT_MODES, FAIL_ON
from gate.core.redact import redact
from gate.sources import cleartext_key_warning

__all__ = [
    "COMMENT_MODES",
    "DEFAULT_CONFIG",
    "FAIL_ON",
    "INPUT_NAMES",
    "MAX_WAIT",
    "ActionSettings",
    "input_env_name",
    "read_action_settings",
]

DEFAULT_CONFIG = ".github/eval-gate.yml"
MAX_WAIT = 6 * 3600.0  # a GitHub-hosted job is stopped after 6 hours anyway

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})
_ID_SEPARATORS = re.compile(r"[\s,]+")

# Every input the code reads, in action.yml's order.
INPUT_NAMES: tuple[str, ...] = (
    "api-key",
    "workspace",
    "eval-ids",
    "baseline",
    "config",
    "github-token",
    "comment",
    "gate-id",
    "wait",
    "fail-on",
    "api-url",
    "commit-status",
    "status-context",
)

_API_KEY_MISSING = (
    "input api-key is required: add `api-key: ${{ secrets.ROBOFLOW_API_KEY }}` under with:"
)


@dataclass(frozen=True, slots=True)
class ActionSettings:
    """The Action's inputs, validated. Secrets are kept out of `repr`."""

    api_key: str = field(repr=False)
    github_token: str | None = field(default=None, repr=False)
    workspace: str | None = None
    eval_ids: tuple[str, ...] = ()
    baseline: str | None = None
    config: str = DEFAULT_CONFIG
    comment: str = "update"  # update | new | on-failure | off
    gate_id: str = ""  # derived from `config` when the input is empty
    wait: float = 600.0
    fail_on: str = "error"  # error | warning | never
    api_url: str | None = None
    commit_status: bool = False
    status_context: str = ""  # default f"eval-gate/{gate_id}"
    # One line each, for the entrypoint to show as `::warning::` annotations (not errors: the
    # run goes on). Today: the api-key would travel unencrypted (api-url http:// off loopback).
    warnings: tuple[str, ...] = ()


def input_env_name(name: str) -> str:
    """The variable the runner sets for input `name`: `INPUT_` + upper case, spaces to `_`."""
    return "INPUT_" + name.replace(" ", "_").upper()


def _split_ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part for part in _ID_SEPARATORS.split(value) if part))


def _choice(name: str, value: str | None, allowed: tuple[str, ...], problems: list[str]) -> str:
    if value is None:
        return allowed[0]
    lowered = value.lower()
    if lowered not in allowed:
        problems.append(f"input {name} must be one of {', '.join(allowed)}, got {value!r}")
        return allowed[0]
    return lowered


def _wait(value: str | None, problems: list[str]) -> float:
    if value is None:
        return 600.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        problems.append(f"input wait must be a number of seconds >= 0, got {value!r}")
        return 600.0
    if seconds > MAX_WAIT:
        problems.append(
            f"input wait must be at most {MAX_WAIT:g} seconds (a job stops after 6 hours), "
            f"got {value!r}"
        )
        return MAX_WAIT
    return seconds


def _boolean(name: str, value: str | None, problems: list[str]) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered not in _FALSE:
        problems.append(f"input {name} must be true or false, got {value!r}")
    return False


def _api_url(value: str | None, problems: list[str]) -> str | None:
    if value is None:
        return None
    from urllib.parse import urlsplit  # noqa: PLC0415 - only when the input is given

    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        problems.append(
            f"input api-url must be an http:// or https:// URL with a host, got {value!r}"
        )
        return None
    return value.rstrip("/")


def _gate_id(value: str | None, config: str, problems: list[str]) -> str:
    if value is None:
        return derive_gate_id(config)
    problem = gate_id_problem(value)
    if problem is not None:
        problems.append(f"input gate-id {problem}")
        return derive_gate_id(config)
    return value


def _status_context(value: str | None, gate_id: str, problems: list[str]) -> str:
    if value is None:
        return default_status_context(gate_id)
    if len(value) > MAX_STATUS_CONTEXT or any(ord(c) < 0x20 for c in value):
        problems.append(
            f"input status-context must be one line of at most {MAX_STATUS_CONTEXT} characters"
        )
        return default_status_context(gate_id)
    return value


def read_action_settings(environ: Mapping[str, str]) -> ActionSettings:
    """Validate the Action's inputs; every problem is reported in one `UsageError`."""

    def get(name: str) -> str | None:
        value = environ.get(input_env_name(name), "").strip()
        return value or None

    problems: list[str] = []
    api_key = get("api-key")
    if api_key is None:
        problems.append(_API_KEY_MISSING)
    github_token = get("github-token")
    config = get("config") or DEFAULT_CONFIG
    if "\x00" in config:
        problems.append("input config must be a file path, relative to the repository root")
        config = DEFAULT_CONFIG
    gate_id = _gate_id(get("gate-id"), config, problems)
    api_url = _api_url(get("api-url"), problems)
    warning = cleartext_key_warning(api_url, where="input api-url") if api_url else None
    settings = ActionSettings(
        api_key=api_key or "",
        github_token=github_token,
        workspace=get("workspace"),
        eval_ids=_split_ids(get("eval-ids") or ""),
        baseline=get("baseline"),
        config=config,
        comment=_choice("comment", get("comment"), COMMENT_MODES, problems),
        gate_id=gate_id,
        wait=_wait(get("wait"), problems),
        fail_on=_choice("fail-on", get("fail-on"), FAIL_ON, problems),
        api_url=api_url,
        commit_status=_boolean("commit-status", get("commit-status"), problems),
        status_context=_status_context(get("status-context"), gate_id, problems),
        warnings=(warning,) if warning else (),
    )
    if problems:
        secrets = [s for s in (api_key, github_token) if s]
        raise UsageError(redact("; ".join(problems), secrets))
    return settings
