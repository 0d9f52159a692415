"""The Action's inputs, declared once (`INPUTS`) and read from the `INPUT_*` variables the
runner sets, every problem collected before one `UsageError` is raised.

The runner turns each input `name` into the variable `INPUT_` + `name.upper()` with spaces
replaced by `_` and hyphens kept (`eval-ids` -> `INPUT_EVAL-IDS`), and passes every input the
action declares, with its default, as an empty string when it has none. So an empty value means
"not given". `required: true` in action.yml is not enforced by the runner: it is checked here.

From `INPUTS` come the reader, docs/action/inputs-outputs.md's table (`inputs_table`) and the check
that action.yml declares the same inputs with the same defaults (tests/test_action_files.py).

Pure: an environ mapping in, `ActionSettings` out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.core.errors import FaceWords, UsageError
from gate.core.gate_id import (
    GATE_ID_RULE,
    MAX_STATUS_CONTEXT,
    derive_gate_id,
    gate_id_problem,
)
from gate.core.gate_id import status_context as default_status_context
from gate.core.model import COMMENT_MODES, FAIL_ON, CommentMode, FailOn
from gate.core.redact import redact
from gate.local.options import Option, markdown_table, read_options
from gate.local.sources import cleartext_key_warning

__all__ = [
    "COMMENT_MODES",
    "CONFIG_FROM",
    "DEFAULT_CONFIG",
    "FAIL_ON",
    "INPUTS",
    "INPUT_NAMES",
    "MAX_STATUS_CONTEXT",
    "MAX_WAIT",
    "REQUIRED_INPUTS",
    "WORDS",
    "ActionSettings",
    "input_env_name",
    "inputs_table",
    "read_action_settings",
]

DEFAULT_CONFIG = ".github/eval-gate.yml"
CONFIG_FROM: tuple[str, ...] = ("base", "workspace")  # where a pull request's rules come from
MAX_WAIT = 6 * 3600.0  # a GitHub-hosted job is stopped after 6 hours anyway

# How the Action names what fixes an engine's error (`GateError.worded`): its inputs.
WORDS = FaceWords(
    wait="the wait input",
    evals="set the eval-ids, models or versions input",
    workspace="set the workspace input",
)

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})
_ID_SEPARATORS = re.compile(r"[\s,]+")

_API_KEY_MISSING = (
    "input api-key is required: add `api-key: ${{ secrets.ROBOFLOW_API_KEY }}` under with: "
    "(or submit the gate to an eval-gate service with service-url, which fetches with its own "
    "key)"
)
_API_KEY_UNUSED = (
    "input api-key is not used with service-url: the service fetches from Roboflow with its own "
    "key; remove api-key from with:"
)


@dataclass(frozen=True, slots=True)
class ActionSettings:
    """The Action's inputs, validated. Secrets are kept out of `repr`."""

    api_key: str = field(repr=False)
    github_token: str | None = field(default=None, repr=False)
    workspace: str | None = None
    eval_ids: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    baseline: str | None = None
    config: str = DEFAULT_CONFIG
    config_from: str = "base"  # one of CONFIG_FROM
    comment: str = CommentMode.UPDATE  # a CommentMode
    gate_id: str = ""  # derived from `config` when the input is empty
    wait: float = 600.0
    fail_on: str = FailOn.ERROR  # a FailOn
    api_url: str | None = None
    commit_status: bool = False
    status_context: str = ""  # default f"eval-gate/{gate_id}"
    check_run: bool = False  # a check run named `status_context` on the commit
    # An eval-gate service to submit the gate to (a durable gate) instead of gating here: its
    # base URL, its bearer token, and whether the step waits for the verdict.
    service_url: str | None = None
    service_token: str | None = field(default=None, repr=False)
    service_wait: bool = False
    # One line each, for the entrypoint to show as `::warning::` annotations (not errors: the
    # run goes on). Today: the api-key would travel unencrypted (api-url http:// off loopback).
    warnings: tuple[str, ...] = ()


# --- converters: raw text (stripped, not empty) -> value, or ValueError(what is wrong) --------


def _text(value: str) -> str:
    return value


def _split_ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part for part in _ID_SEPARATORS.split(value) if part))


def _config(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must be a file path, relative to the repository root")
    return value


def _choice(enum: type[CommentMode] | type[FailOn]) -> Any:
    allowed = tuple(m.value for m in enum)

    def convert(value: str) -> CommentMode | FailOn:
        lowered = value.lower()
        if lowered not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}")
        return enum(lowered)

    return convert


def _config_from(value: str) -> str:
    lowered = value.lower()
    if lowered not in CONFIG_FROM:
        raise ValueError(f"must be one of {', '.join(CONFIG_FROM)}, got {value!r}")
    return lowered


def _wait(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"must be a number of seconds >= 0, got {value!r}")
    if seconds > MAX_WAIT:
        raise ValueError(
            f"must be at most {MAX_WAIT:g} seconds (a job stops after 6 hours), got {value!r}"
        )
    return seconds


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered not in _FALSE:
        raise ValueError(f"must be true or false, got {value!r}")
    return False


def _api_url(value: str) -> str:
    from urllib.parse import urlsplit  # noqa: PLC0415 - only when the input is given

    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value.rstrip("/")


def _gate_id(value: str) -> str:
    problem = gate_id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _status_context(value: str) -> str:
    if len(value) > MAX_STATUS_CONTEXT or any(ord(c) < 0x20 for c in value):
        raise ValueError(f"must be one line of at most {MAX_STATUS_CONTEXT} characters")
    return value


# --- the declaration, in action.yml's order -------------------------------------------------

INPUTS: tuple[Option[Any], ...] = (
    Option(
        "api-key",
        "api_key",
        _text,
        None,
        "Roboflow API key (`model-eval:read`), from a secret; masked in the log. Not used "
        "with `service-url` (the service fetches with its own key)",
        shown_default="— (required without `service-url`)",
    ),
    Option(
        "workspace",
        "workspace",
        _text,
        None,
        "Roboflow workspace",
        shown_default="config's `workspace`",
    ),
    Option(
        "eval-ids",
        "eval_ids",
        _split_ids,
        (),
        "evaluations to gate, separated by commas, spaces or newlines",
        shown_default="config's `evals`",
    ),
    Option(
        "models",
        "models",
        _split_ids,
        (),
        "models whose newest evaluation to gate (waiting for one to appear), separated like "
        "`eval-ids`",
    ),
    Option(
        "versions",
        "versions",
        _split_ids,
        (),
        "dataset versions whose newest evaluation to gate (waiting for one to appear), "
        "separated like `eval-ids`",
    ),
    Option(
        "baseline",
        "baseline",
        _text,
        None,
        "baseline for the evaluations in `eval-ids`, `models` and `versions`: an id, `auto`, "
        "`champion` or `base` (the eval the base branch's config gives the same name)",
        shown_default="config's",
    ),
    Option(
        "config",
        "config",
        _config,
        DEFAULT_CONFIG,
        "the config file, relative to the repository root",
    ),
    Option(
        "config-from",
        "config_from",
        _config_from,
        "base",
        "where a pull request's rules and other verdict settings (`require_same_version`, "
        "each eval's `baseline`) come from: `base` (the config file at the pull request's base "
        "commit, read with `github-token`, so a pull request cannot loosen its own gate; the "
        "checkout's when the base has none) or `workspace` (the checkout's). What to gate "
        "(`evals`, `workspace`) always comes from the checkout's config (see [Which keys come "
        "from where](#which-keys-come-from-where)); push, schedule and dispatch runs always use "
        "the checkout's",
    ),
    Option(
        "github-token",
        "github_token",
        _text,
        None,
        "token for reading the base branch's config, the comment and the status",
        shown_default="`${{ github.token }}`",
    ),
    Option(
        "comment",
        "comment",
        _choice(CommentMode),
        CommentMode.UPDATE,
        "`update` (one sticky comment edited in place), `new` (a new comment each run), "
        "`on-failure` (only when the gate does not pass; a comment already there is still "
        "updated, so it never shows a stale verdict), `off`",
    ),
    Option(
        "gate-id",
        "gate_id",
        _gate_id,
        None,  # derived from `config`
        "names this gate, so several gates keep separate comments and statuses: "
        f"{GATE_ID_RULE}, used verbatim (case and all) in the "
        "comment marker, the status context and the report folder, so `a.b` and `a-b` are "
        "two gates",
        shown_default="derived from `config`",
    ),
    Option(
        "wait",
        "wait",
        _wait,
        600.0,
        "seconds to wait for running evaluations",
        shown_default="`600`",
    ),
    Option(
        "fail-on",
        "fail_on",
        _choice(FailOn),
        FailOn.ERROR,
        "`error`, `warning` or `never` (a gate that could not run still fails the step)",
    ),
    Option(
        "api-url",
        "api_url",
        _api_url,
        None,
        "Roboflow API base",
        shown_default="`https://api.roboflow.com`",
    ),
    Option(
        "commit-status",
        "commit_status",
        _boolean,
        default=False,
        help="`true` to set a commit status on the pull request's head commit (not the merge "
        "commit)",
        shown_default="`false`",
    ),
    Option(
        "status-context",
        "status_context",
        _status_context,
        None,  # eval-gate/<gate-id>
        "the status's context",
        shown_default="`eval-gate/<gate-id>`",
    ),
    Option(
        "check-run",
        "check_run",
        _boolean,
        default=False,
        help="`true` for a check run on the pull request's head commit, named like the status "
        "(`status-context`): in progress while the gate runs, then its verdict, report and "
        "one annotation per failing check on the rule's line of the config; needs "
        "`checks: write` (without it, a 403: one warning and a commit status instead)",
        shown_default="`false`",
    ),
    Option(
        "service-url",
        "service_url",
        _api_url,
        None,
        "an eval-gate service's base URL: submit the gate there (a durable gate: rules from the "
        "base as above, the commit and pull request from the event, a check run) instead of "
        "gating in this step, which then ends at once with the outputs `service-gate-id` and "
        "`service-gate-url`; the check run carries the verdict (see [Submit to a service]"
        "(#submit-to-a-service))",
    ),
    Option(
        "service-token",
        "service_token",
        _text,
        None,
        "the service's bearer token, from a secret; masked in the log",
    ),
    Option(
        "service-wait",
        "service_wait",
        _boolean,
        default=False,
        help="`true` to wait (up to `wait` seconds) for the submitted gate's verdict and end "
        "as a gate in this step does: report, summary, annotations, outputs, exit code",
        shown_default="`false`",
    ),
)

INPUT_NAMES: tuple[str, ...] = tuple(option.name for option in INPUTS)
REQUIRED_INPUTS: tuple[str, ...] = ()  # api-key is, without service-url: checked here


def inputs_table() -> str:
    """docs/action/inputs-outputs.md's table of inputs (section "Inputs")."""
    rows = ((f"`{o.name}`", o.shown(), o.help) for o in INPUTS)
    return markdown_table(("input", "default", "meaning"), rows)


def input_env_name(name: str) -> str:
    """The variable the runner sets for input `name`: `INPUT_` + upper case, spaces to `_`."""
    return "INPUT_" + name.replace(" ", "_").upper()


def read_action_settings(environ: Mapping[str, str]) -> ActionSettings:
    """Validate the Action's inputs; every problem is reported in one `UsageError`."""

    def get(name: str) -> str | None:
        value = environ.get(input_env_name(name), "").strip()
        return value or None

    read = read_options(INPUTS, get, prefix="input ")
    service = get("service-url") is not None
    problems = [_API_KEY_MISSING] if get("api-key") is None and not service else []
    problems.extend(read.problems)
    config = read["config"]
    gate_id = read["gate_id"] or derive_gate_id(config)
    api_url = read["api_url"]
    warnings: list[str] = []
    if service:
        if get("api-key") is not None:
            warnings.append(_API_KEY_UNUSED)
        url = read["service_url"]
        if get("service-token") is not None and url and cleartext_key_warning(url, where=""):
            warnings.append(
                "input service-url is plain http:// to another machine: the service-token "
                "will be sent unencrypted; use https://"
            )
    elif api_url and (warning := cleartext_key_warning(api_url, where="input api-url")):
        warnings.append(warning)
    settings = ActionSettings(
        api_key=read["api_key"] or "",
        github_token=read["github_token"],
        workspace=read["workspace"],
        eval_ids=read["eval_ids"],
        models=read["models"],
        versions=read["versions"],
        baseline=read["baseline"],
        config=config,
        config_from=read["config_from"],
        comment=read["comment"],
        gate_id=gate_id,
        wait=read["wait"],
        fail_on=read["fail_on"],
        api_url=api_url,
        commit_status=read["commit_status"],
        status_context=read["status_context"] or default_status_context(gate_id),
        check_run=read["check_run"],
        service_url=read["service_url"],
        service_token=read["service_token"],
        service_wait=read["service_wait"],
        warnings=tuple(warnings),
    )
    if problems:
        secrets = [
            s for s in (settings.api_key, settings.github_token, settings.service_token) if s
        ]
        raise UsageError(redact("; ".join(problems), secrets))
    return settings
