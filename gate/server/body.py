"""The `POST /v1/gate` request body: decoded JSON -> a validated `GateCall`, or a 400.

Every problem is collected (the first `MAX_PROBLEMS` listed, the rest counted); the config is
checked by the same validator as the YAML file; what the request expands into is bounded
before anything is fetched (`gate.server.bounds`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from gate.config.loader import config_from_data, load_config
from gate.core.errors import MAX_PROBLEMS, ConfigError, UsageError
from gate.core.gate_id import GATE_ID_PATTERN, GATE_ID_RULE, MAX_STATUS_CONTEXT
from gate.core.model import COMMENT_MODES, FAIL_ON, EvalSpec, GateConfig
from gate.engine import GateRequest, plan_targets
from gate.report.render import DEFAULT_MAX_CHARS
from gate.server.bounds import checks_floor
from gate.server.request import ApiError
from gate.server.settings import DEFAULT_MAX_CHECKS

__all__ = [
    "DATA_SOURCE",
    "GITHUB_FIELDS",
    "MAX_EVALS",
    "REQUEST_FIELDS",
    "YAML_SOURCE",
    "GateCall",
    "GitHubPart",
    "parse_call",
]

REQUEST_FIELDS: Final = (
    "config",
    "evals",
    "baseline",
    "workspace",
    "wait",
    "fail_on",
    "max_chars",
    "title",
    "github",
)
GITHUB_FIELDS: Final = (
    "repository",
    "pull_number",
    "sha",
    "token",
    "gate_id",
    "comment",
    "commit_status",
    "status_context",
    "target_url",
)
MIN_MAX_CHARS: Final = 1000
MAX_MAX_CHARS: Final = 1_000_000
MAX_EVALS: Final = 100  # evaluations gated by one request (evals plus the config's evals:)
MAX_ID: Final = 200
MAX_TITLE: Final = 200
YAML_SOURCE: Final = "<request config>"
DATA_SOURCE: Final = "config"

_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_URL = re.compile(r"https?://[^\s]{1,2000}")
_MAX_CHECKS_HINT = (
    "gate fewer evaluations, splits or classes a request (or split the rules over several "
    "requests); the server's limit is EVAL_GATE_MAX_CHECKS"
)


_T = TypeVar("_T")
_Reader = Callable[[str, Any], "_T | None"]


@dataclass(frozen=True, slots=True)
class GitHubPart:
    """Where to post the result on GitHub (the request's `github` object), validated."""

    repository: str
    token: str = field(repr=False)
    pull_number: int | None = None
    sha: str | None = None
    gate_id: str = "default"
    comment: str = "update"
    commit_status: bool = False
    status_context: str = ""
    target_url: str | None = None


@dataclass(frozen=True, slots=True)
class GateCall:
    """A validated `POST /v1/gate` body."""

    config: GateConfig
    eval_ids: tuple[str, ...] = ()
    baseline: str | None = None
    workspace: str | None = None
    wait: float = 0.0
    fail_on: str = "error"
    max_chars: int = DEFAULT_MAX_CHARS
    title: str = "eval-gate"
    github: GitHubPart | None = None
    targets: tuple[EvalSpec, ...] = ()  # the evaluations to gate, each with its baseline


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _number(value: float) -> str:
    """A number from the request, for a message (never thousands of digits, never an error)."""
    if isinstance(value, int):
        if value.bit_length() <= 64:
            return f"{value:,}"
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    return f"{value:g}" if math.isfinite(value) else repr(value)


def _more(total: int) -> str:
    """` (and N more problems)` after the first of `total` problems."""
    if total <= 1:
        return ""
    return f" (and {total - 1:,} more problem{'s' if total > 2 else ''})"


class _Body:
    """Reads the fields of the request body, collecting problems (and echoing no secret).

    The first MAX_PROBLEMS problems are kept; `total` counts them all.
    """

    def __init__(self) -> None:
        self.problems: list[dict[str, Any]] = []
        self.total = 0

    def add(self, where: str, message: str) -> None:
        self.total += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"field": where, "message": f"{where}: {message}"})

    def known(self, data: dict[str, Any], allowed: tuple[str, ...], prefix: str = "") -> None:
        unknown = [key for key in data if key not in allowed]
        valid = ", ".join(prefix + a for a in allowed)
        for key in unknown[:MAX_PROBLEMS]:
            self.add(
                f"{prefix}{key if len(key) <= 60 else key[:57] + '...'}",
                f"unknown field; valid fields are {valid}",
            )
        self.total += max(0, len(unknown) - MAX_PROBLEMS)

    def read(self, data: dict[str, Any], where: str, reader: _Reader[_T], default: _T) -> _T:
        """`data[key]` read by `reader` (`where` is `prefix.key`); `default` if null or bad."""
        value = data.get(where.rsplit(".", 1)[-1])
        if value is None:
            return default
        found = reader(where, value)
        return default if found is None else found

    def ident(self, where: str, value: Any) -> str | None:
        """An id: a non-empty one-line string without spaces."""
        if not isinstance(value, str):
            self.add(where, f"must be a string, got {_kind(value)}")
            return None
        text = value.strip()
        if not text or len(value) > MAX_ID or any(c.isspace() or not c.isprintable() for c in text):
            self.add(
                where,
                f"must be 1 to {MAX_ID} printable characters without spaces, got {_shown(value)}",
            )
            return None
        return text

    def evals(self, where: str, value: Any) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.add(where, f"must be a list of evaluation ids, got {_kind(value)}")
            return None
        if len(value) > MAX_EVALS:
            self.add(where, f"lists {len(value):,} evaluations; at most {MAX_EVALS} a request")
            return None
        found = (self.ident(f"{where}[{i}]", item) for i, item in enumerate(value))
        return tuple(dict.fromkeys(i for i in found if i is not None))

    def seconds(self, where: str, value: Any, high: float) -> float | None:
        bounds = f"between 0 and {high:g} (the server's request deadline)"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(where, f"must be a number of seconds {bounds}, got {_kind(value)}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.add(where, f"must be a finite number of seconds {bounds}, got {value!r}")
            return None
        if not 0 <= value <= high:
            self.add(where, f"must be a number of seconds {bounds}, got {_number(value)}")
            return None
        return float(value)

    def choice(self, allowed: tuple[str, ...]) -> _Reader[str]:
        def reader(where: str, value: Any) -> str | None:
            if not isinstance(value, str) or value not in allowed:
                got = _shown(value) if isinstance(value, str) else _kind(value)
                self.add(where, f"must be one of {', '.join(allowed)}, got {got}")
                return None
            return value

        return reader

    def integer(self, low: int, high: int) -> _Reader[int]:
        def reader(where: str, value: Any) -> int | None:
            bounds = f"between {low:,} and {high:,}"
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                got = _number(value) if isinstance(value, float) else _kind(value)
                self.add(where, f"must be a whole number {bounds}, got {got}")
                return None
            if not low <= value <= high:
                self.add(where, f"must be {bounds}, got {_number(value)}")
                return None
            return value

        return reader

    def line(self, limit: int) -> _Reader[str]:
        def reader(where: str, value: Any) -> str | None:
            if not isinstance(value, str):
                self.add(where, f"must be a string, got {_kind(value)}")
                return None
            text = value.strip()
            if not text or len(value) > limit or any(not c.isprintable() for c in text):
                self.add(where, f"must be one line of 1 to {limit} printable characters")
                return None
            return text

        return reader

    def pattern(self, regex: re.Pattern[str], hint: str) -> _Reader[str]:
        def reader(where: str, value: Any) -> str | None:
            if not isinstance(value, str) or not regex.fullmatch(value):
                self.add(where, hint)
                return None
            return value

        return reader

    def boolean(self, where: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, got {_kind(value)}")
            return None
        return value


def _too_many_checks(count: int, limit: int, how: str) -> ApiError:
    return ApiError(
        400,
        "too_many_checks",
        f"this request expands into {how}; this server evaluates at most {limit:,} checks "
        f"a request: {_MAX_CHECKS_HINT}",
        extra={"checks": count, "max_checks": limit},
    )


def _config(
    body: _Body, value: Any, max_checks: int
) -> tuple[GateConfig | None, ConfigError | None]:
    if isinstance(value, str):
        try:  # load_config bounds what YAML aliases make it walk (an invalid_config problem)
            return load_config(value, YAML_SOURCE), None
        except ConfigError as error:
            return None, error
    if isinstance(value, dict):
        rules = value.get("rules")
        if isinstance(rules, list) and len(rules) > max_checks:
            raise _too_many_checks(
                len(rules),
                max_checks,
                f"at least {len(rules):,} checks (config.rules lists {len(rules):,} rules, "
                "each at least one check)",
            )
        try:
            return config_from_data(value, DATA_SOURCE), None
        except ConfigError as error:
            return None, error
    body.add("config", f"must be an object or YAML text, got {_kind(value)}")
    return None, None


def _github(body: _Body, value: Any) -> GitHubPart | None:
    if not isinstance(value, dict):
        body.add("github", f"must be an object, got {_kind(value)}")
        return None
    before = body.total
    body.known(value, GITHUB_FIELDS, "github.")
    if value.get("repository") is None:
        body.add("github.repository", "is required: the repository as owner/name")
    repository = body.read(
        value, "github.repository", body.pattern(_REPOSITORY, "must be owner/name"), ""
    )
    token = value.get("token")
    if not isinstance(token, str) or not token.strip():
        # Never describe the value: it is meant to be a secret.
        body.add("github.token", "is required: a GitHub token that may comment and set statuses")
        token = ""
    pull_number = body.read(value, "github.pull_number", body.integer(1, 2**31 - 1), None)
    sha = body.read(
        value,
        "github.sha",
        body.pattern(_SHA, "must be a full commit SHA (40 hexadecimal characters)"),
        None,
    )
    gate_id = body.read(
        value,
        "github.gate_id",
        body.pattern(
            GATE_ID_PATTERN,
            f"must be {GATE_ID_RULE}",
        ),
        "default",
    )
    comment = body.read(value, "github.comment", body.choice(COMMENT_MODES), "update")
    has_sha = value.get("sha") is not None
    commit_status = body.read(value, "github.commit_status", body.boolean, has_sha)
    if commit_status and not has_sha:
        body.add("github.commit_status", "needs github.sha, the commit to set the status on")
    if comment != "off" and value.get("pull_number") is None and not has_sha:
        body.add(
            "github.pull_number",
            "is required to comment (or give github.sha to find the pull request by its head)",
        )
    status_context = body.read(value, "github.status_context", body.line(MAX_STATUS_CONTEXT), "")
    target_url = body.read(
        value, "github.target_url", body.pattern(_URL, "must be an http(s) URL"), None
    )
    if body.total != before:
        return None
    return GitHubPart(
        repository=repository,
        token=token.strip(),
        pull_number=pull_number,
        sha=sha.lower() if sha else None,
        gate_id=gate_id,
        comment=comment,
        commit_status=commit_status,
        status_context=status_context,
        target_url=target_url,
    )


def _config_problems(error: ConfigError) -> list[dict[str, Any]]:
    return [
        {"field": "config", "message": p.message, "line": p.line, "column": p.column}
        for p in error.problems
    ]


def _config_error(error: ConfigError) -> ApiError:
    problems = _config_problems(error)
    return ApiError(
        400,
        "invalid_config",
        str(error),
        extra={"problems": problems, "problems_total": max(error.total, len(problems))},
    )


def _invalid(problems: list[dict[str, Any]], total: int) -> ApiError:
    shown = problems[:MAX_PROBLEMS]
    total = max(total, len(shown))
    head = shown[0]["message"] if shown else "invalid request"
    return ApiError(
        400,
        "invalid_request",
        head + _more(total),
        extra={"problems": shown, "problems_total": total},
    )


def _targets(
    config: GateConfig, eval_ids: tuple[str, ...], baseline: str | None
) -> tuple[EvalSpec, ...]:
    """The evaluations the request gates, bounded (every one is fetched, with its baseline)."""
    try:
        targets = plan_targets(GateRequest(config=config, eval_ids=eval_ids, baseline=baseline))
    except UsageError as error:
        raise ApiError(400, "invalid_request", str(error)) from None
    if len(targets) > MAX_EVALS:
        raise ApiError(
            400,
            "invalid_request",
            f"evals: this request gates {len(targets):,} evaluations (evals plus the config's "
            f"evals:); at most {MAX_EVALS} a request: split it into several requests",
            extra={"problems": [{"field": "evals", "message": "too many evaluations"}]},
        )
    return targets


def _bound_checks(config: GateConfig, targets: Sequence[EvalSpec], max_checks: int) -> None:
    """400 too_many_checks when the config alone shows the request must exceed the bound."""
    pairs = len(config.rules) * len(targets)
    if pairs > max_checks:
        raise _too_many_checks(
            pairs,
            max_checks,
            f"{len(config.rules):,} rules x {len(targets):,} evaluations = {pairs:,} "
            "rule-evaluation pairs, each evaluated (and at least one check where the rule "
            "applies)",
        )
    floor = checks_floor(config)
    if floor > max_checks:
        raise _too_many_checks(
            floor,
            max_checks,
            f"at least {floor:,} checks (thresholds x splits x classes the rules list, "
            "before any result is fetched)",
        )


def parse_call(data: Any, *, max_wait: float, max_checks: int = DEFAULT_MAX_CHECKS) -> GateCall:
    """Validate a decoded request body and bound what it asks for; ApiError 400 otherwise
    (listing the first MAX_PROBLEMS problems and counting the rest)."""
    if not isinstance(data, dict):
        raise ApiError(
            400, "invalid_request", f"the request body must be a JSON object, got {_kind(data)}"
        )
    body = _Body()
    body.known(data, REQUEST_FIELDS)
    if "config" not in data:
        body.add("config", "is required: the gate's config, as an object or as YAML text")
    no_evals: tuple[str, ...] = ()
    eval_ids = body.read(data, "evals", body.evals, no_evals)
    baseline = body.read(data, "baseline", body.ident, None)
    workspace = body.read(data, "workspace", body.ident, None)
    wait = body.read(data, "wait", lambda where, v: body.seconds(where, v, max_wait), 0.0)
    fail_on = body.read(data, "fail_on", body.choice(FAIL_ON), "error")
    max_chars = body.read(
        data, "max_chars", body.integer(MIN_MAX_CHARS, MAX_MAX_CHARS), DEFAULT_MAX_CHARS
    )
    title = body.read(data, "title", body.line(MAX_TITLE), "eval-gate")
    github = _github(body, data["github"]) if data.get("github") is not None else None
    config, config_error = (
        _config(body, data["config"], max_checks) if "config" in data else (None, None)
    )
    if config_error is not None and not body.total:
        raise _config_error(config_error)
    if config is not None and not eval_ids and not config.evals:
        body.add("evals", "no evaluation to gate: list eval ids in evals, or evals: in the config")
    if body.total or config is None:
        problems = body.problems
        total = body.total
        if config_error is not None:
            problems = problems + _config_problems(config_error)
            total += config_error.total
        raise _invalid(problems, total)
    targets = _targets(config, eval_ids, baseline)
    _bound_checks(config, targets, max_checks)
    return GateCall(
        config=config,
        eval_ids=eval_ids,
        baseline=baseline,
        workspace=workspace,
        wait=wait,
        fail_on=fail_on,
        max_chars=max_chars,
        title=title,
        github=github,
        targets=targets,
    )
