"""The `POST /v1/gate` request body: decoded JSON -> a validated `GateCall`, or a 400.

The body is first checked against the OpenAPI document's `GateRequest`
(`gate.server.request_schema`: types, values, ranges, patterns, required and unknown
fields). Only what the schema cannot say is checked here: blank or multi-line text, ids with
spaces, a wait beyond this server's deadline, and the rules across fields (a commit status
needs `sha`, a comment needs `pull_number` or `sha`). Every problem is collected (the first
`MAX_PROBLEMS` listed, the rest counted); the config is checked by the same validator as the
YAML file; what the request expands into is bounded before anything is fetched
(`gate.server.bounds`). The service's words for the engine's errors (`WORDS`) are here too.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from gate.config.loader import config_from_data, load_config
from gate.core.errors import MAX_PROBLEMS, ConfigError, FaceWords, UsageError
from gate.core.gate_id import MAX_STATUS_CONTEXT
from gate.core.model import EvalBy, EvalSpec, GateConfig
from gate.engine import GateRequest, plan_targets
from gate.report.render import DEFAULT_MAX_CHARS
from gate.server.bounds import checks_floor
from gate.server.request import ApiError
from gate.server.request_schema import MAX_EVALS, kind_of, number_text, schema_problems, shown
from gate.server.settings import DEFAULT_MAX_CHECKS

__all__ = [
    "DATA_SOURCE",
    "GITHUB_FIELDS",
    "MAX_EVALS",
    "REQUEST_FIELDS",
    "WORDS",
    "YAML_SOURCE",
    "GateCall",
    "GitHubPart",
    "config_error",
    "parse_call",
    "too_many_checks",
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
MAX_ID: Final = 200
MAX_TITLE: Final = 200
YAML_SOURCE: Final = "<request config>"
DATA_SOURCE: Final = "config"

# How the service names what fixes an engine's error (`GateError.worded`): the request's fields.
WORDS = FaceWords(
    wait="the request's wait",
    evals="list eval ids in evals",
    base="baseline: base only works in the GitHub Action on pull requests (it reads the base "
    "branch's config, which a request does not have); name an eval id, auto or champion "
    "instead",
)

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
    specs: tuple[EvalSpec, ...] = ()  # `evals` entries written as objects
    fail_on: str = "error"
    max_chars: int = DEFAULT_MAX_CHARS
    title: str = "eval-gate"
    github: GitHubPart | None = None
    targets: tuple[EvalSpec, ...] = ()  # the evaluations to gate, each with its baseline

    def gate_request(self, workspace: str | None = None) -> GateRequest:
        """The engine's request for this call (it plans `targets`), gating in `workspace`."""
        return _gate_request(self.config, self.eval_ids, self.baseline, self.specs, workspace)


def _more(total: int) -> str:
    """` (and N more problems)` after the first of `total` problems."""
    if total <= 1:
        return ""
    return f" (and {total - 1:,} more problem{'s' if total > 2 else ''})"


class _Body:
    """Reads the fields of the request body, collecting problems (and echoing no secret).

    Types, allowed values, ranges, patterns, required and unknown fields are the OpenAPI
    document's `GateRequest` (`schema_problems`); the readers here check only what it cannot
    say (blank or multi-line text, ids with spaces, a wait beyond this server's deadline) and
    the rules across fields. The first MAX_PROBLEMS problems are kept; `total` counts them all.
    """

    def __init__(self, flagged: list[tuple[str, str]]) -> None:
        self.problems: list[dict[str, Any]] = []
        self.total = 0
        # The schema's problems, by the field (top level, or `github.x`) they belong to.
        self.flagged: dict[str, list[tuple[str, str]]] = {}
        for where, message in flagged:
            head = re.split(r"[\[]", where, maxsplit=1)[0]
            if not head.startswith("github."):
                head = head.split(".", 1)[0]
            self.flagged.setdefault(head, []).append((where, message))

    def add(self, where: str, message: str) -> None:
        self.total += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"field": where, "message": f"{where}: {message}"})

    def take(self, where: str) -> bool:
        """Add the schema's problems with `where` (and inside it); whether there were any."""
        found = self.flagged.pop(where, [])
        for path, message in found:
            self.add(path, message)
        return bool(found)

    def rest(self) -> None:
        """Add the schema's problems no reader took (none are ever dropped)."""
        for head in list(self.flagged):
            self.take(head)

    def unknown(self, allowed: tuple[str, ...], prefix: str = "") -> None:
        """The schema's problems with fields not in `allowed` (unknown fields)."""
        for head in [h for h in self.flagged if h.startswith(prefix)]:
            name = head.removeprefix(prefix)
            if name not in allowed and "." not in name:
                self.take(head)

    def read(self, data: dict[str, Any], where: str, reader: _Reader[_T], default: _T) -> _T:
        """`data[key]` read by `reader` (`where` is `prefix.key`); `default` if null or bad."""
        if self.take(where):
            return default
        value = data.get(where.rsplit(".", 1)[-1])
        if value is None:
            return default
        found = reader(where, value)
        return default if found is None else found

    def ident(self, where: str, value: Any) -> str | None:
        """An id: a non-empty one-line string without spaces (a string: the schema says so)."""
        text = str(value).strip()
        if not text or len(value) > MAX_ID or any(c.isspace() or not c.isprintable() for c in text):
            self.add(
                where,
                f"must be 1 to {MAX_ID} printable characters without spaces, got {shown(value)}",
            )
            return None
        return text

    def evals(self, where: str, value: Any) -> tuple[str | EvalSpec, ...] | None:
        """Eval ids, and objects with the keys of the config's `evals` items (as EvalSpec)."""
        found = [
            self.eval_object(f"{where}[{i}]", item)
            if isinstance(item, dict)
            else self.ident(f"{where}[{i}]", item)
            for i, item in enumerate(value)
        ]
        return tuple(dict.fromkeys(i for i in found if i is not None))

    def eval_object(self, where: str, value: dict[str, Any]) -> EvalSpec | None:
        """One `evals` object: exactly one of id, model and version (the schema says so too),
        with an optional name and baseline."""
        named = [by for by in EvalBy if by.value in value]
        if len(named) != 1:
            self.add(where, "must have exactly one of id, model and version")
            return None
        read = {
            key: self.ident(f"{where}.{key}", value[key])
            for key in (named[0].value, "name", "baseline")
            if value.get(key) is not None
        }
        ref = read.get(named[0].value)
        if ref is None or len(read) != sum(value.get(k) is not None for k in read):
            return None
        if named[0] is EvalBy.ID and read.get("baseline") == ref:
            self.add(f"{where}.baseline", f"eval {ref!r} cannot be its own baseline")
            return None
        return EvalSpec(ref, read.get("name"), read.get("baseline"), by=named[0])

    def seconds(self, where: str, value: Any, high: float) -> float | None:
        bounds = f"between 0 and {high:g} (the server's request deadline)"
        if isinstance(value, float) and not math.isfinite(value):
            self.add(where, f"must be a finite number of seconds {bounds}, got {value!r}")
            return None
        if not 0 <= value <= high:
            self.add(where, f"must be a number of seconds {bounds}, got {number_text(value)}")
            return None
        return float(value)

    @staticmethod
    def same(where: str, value: Any) -> Any:
        """A value the schema says everything about."""
        del where
        return int(value) if isinstance(value, float) else value

    def line(self, limit: int) -> _Reader[str]:
        def reader(where: str, value: Any) -> str | None:
            text = str(value).strip()
            if not text or len(value) > limit or any(not c.isprintable() for c in text):
                self.add(where, f"must be one line of 1 to {limit} printable characters")
                return None
            return text

        return reader


def too_many_checks(count: int, limit: int, how: str) -> ApiError:
    return ApiError(
        400,
        "too_many_checks",
        f"this request expands into {how}; this server evaluates at most {limit:,} checks "
        f"a request: {_MAX_CHECKS_HINT}",
        extra={"checks": count, "max_checks": limit},
    )


def _config(value: Any, max_checks: int) -> tuple[GateConfig | None, ConfigError | None]:
    if isinstance(value, str):
        try:  # load_config bounds what YAML aliases make it walk (an invalid_config problem)
            return load_config(value, YAML_SOURCE), None
        except ConfigError as error:
            return None, error
    if isinstance(value, dict):
        rules = value.get("rules")
        if isinstance(rules, list) and len(rules) > max_checks:
            raise too_many_checks(
                len(rules),
                max_checks,
                f"at least {len(rules):,} checks (config.rules lists {len(rules):,} rules, "
                "each at least one check)",
            )
        try:
            return config_from_data(value, DATA_SOURCE), None
        except ConfigError as error:
            return None, error
    return None, None  # pragma: no cover - the schema says config is a string or an object


def _github(body: _Body, value: Any) -> GitHubPart | None:
    """The `github` part: its fields as the schema says, then the rules across them."""
    before = body.total
    if body.take("github") or not isinstance(value, dict):
        return None
    body.unknown(GITHUB_FIELDS, "github.")
    repository = body.read(value, "github.repository", body.same, "")
    token = value.get("token")
    if not body.take("github.token") and (not isinstance(token, str) or not token.strip()):
        # Never describe the value: it is meant to be a secret.
        body.add("github.token", "is required: a GitHub token that may comment and set statuses")
    pull_number = body.read(value, "github.pull_number", body.same, None)
    sha = body.read(value, "github.sha", body.same, None)
    gate_id = body.read(value, "github.gate_id", body.same, "default")
    comment = body.read(value, "github.comment", body.same, "update")
    has_sha = value.get("sha") is not None
    commit_status = body.read(value, "github.commit_status", body.same, has_sha)
    if commit_status and not has_sha:
        body.add("github.commit_status", "needs github.sha, the commit to set the status on")
    if comment != "off" and value.get("pull_number") is None and not has_sha:
        body.add(
            "github.pull_number",
            "is required to comment (or give github.sha to find the pull request by its head)",
        )
    status_context = body.read(value, "github.status_context", body.line(MAX_STATUS_CONTEXT), "")
    target_url = body.read(value, "github.target_url", body.same, None)
    if body.total != before or not isinstance(token, str):
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


def config_error(error: ConfigError) -> ApiError:
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


def _gate_request(
    config: GateConfig,
    eval_ids: tuple[str, ...],
    baseline: str | None,
    specs: tuple[EvalSpec, ...],
    workspace: str | None = None,
) -> GateRequest:
    """The engine's request: the config's evals, then the objects in `evals` (their own
    baseline, else `baseline`) as more of them, then the ids in `evals`."""
    extra = tuple(
        s if s.baseline is not None else dataclasses.replace(s, baseline=baseline) for s in specs
    )
    known = {(s.by, s.id) for s in config.evals}
    merged = config.evals + tuple(s for s in extra if (s.by, s.id) not in known)
    return GateRequest(
        config=dataclasses.replace(config, evals=merged),
        eval_ids=eval_ids,
        baseline=baseline,
        workspace=workspace,
    )


def _targets(
    config: GateConfig,
    eval_ids: tuple[str, ...],
    baseline: str | None,
    specs: tuple[EvalSpec, ...] = (),
) -> tuple[EvalSpec, ...]:
    """The evaluations the request gates, bounded (every one is fetched, with its baseline):
    the config's, then the objects in `evals` (their own baseline, else `baseline`), then
    the ids in `evals`."""
    try:
        targets = plan_targets(_gate_request(config, eval_ids, baseline, specs))
    except UsageError as error:
        raise ApiError(400, "invalid_request", str(error.worded(WORDS))) from None
    except ConfigError as error:  # baseline: base: no base branch here
        raise config_error(error.worded(WORDS)) from None
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
        raise too_many_checks(
            pairs,
            max_checks,
            f"{len(config.rules):,} rules x {len(targets):,} evaluations = {pairs:,} "
            "rule-evaluation pairs, each evaluated (and at least one check where the rule "
            "applies)",
        )
    floor = checks_floor(config)
    if floor > max_checks:
        raise too_many_checks(
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
            400, "invalid_request", f"the request body must be a JSON object, got {kind_of(data)}"
        )
    expected = {
        "wait": f"a number of seconds between 0 and {max_wait:g} (the server's request deadline)",
        "config": "an object or YAML text",
    }
    body = _Body(schema_problems(data, expected))
    body.unknown(REQUEST_FIELDS)
    if "config" not in data:
        body.take("config")  # is required
    no_evals: tuple[str | EvalSpec, ...] = ()
    entries = body.read(data, "evals", body.evals, no_evals)
    eval_ids = tuple(e for e in entries if isinstance(e, str))
    specs = tuple(e for e in entries if isinstance(e, EvalSpec))
    baseline = body.read(data, "baseline", body.ident, None)
    workspace = body.read(data, "workspace", body.ident, None)
    wait = body.read(data, "wait", lambda where, v: body.seconds(where, v, max_wait), 0.0)
    fail_on = body.read(data, "fail_on", body.same, "error")
    max_chars = body.read(data, "max_chars", body.same, DEFAULT_MAX_CHARS)
    title = body.read(data, "title", body.line(MAX_TITLE), "eval-gate")
    github = _github(body, data["github"]) if data.get("github") is not None else None
    config_flagged = body.take("config")
    body.rest()
    config, invalid = (
        _config(data["config"], max_checks)
        if "config" in data and not config_flagged
        else (None, None)
    )
    if invalid is not None and not body.total:
        raise config_error(invalid)
    if config is not None and not data.get("evals") and not config.evals:
        body.add("evals", "no evaluation to gate: list eval ids in evals, or evals: in the config")
    if body.total or config is None:
        problems = body.problems
        total = body.total
        if invalid is not None:
            problems = problems + _config_problems(invalid)
            total += invalid.total
        raise _invalid(problems, total)
    targets = _targets(config, eval_ids, baseline, specs)
    _bound_checks(config, targets, max_checks)
    return GateCall(
        config=config,
        eval_ids=eval_ids,
        specs=specs,
        baseline=baseline,
        workspace=workspace,
        wait=wait,
        fail_on=fail_on,
        max_chars=max_chars,
        title=title,
        github=github,
        targets=targets,
    )
