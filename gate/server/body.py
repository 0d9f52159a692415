"""The `POST /v1/gate` request body: decoded JSON -> a validated `GateCall`, or a 400.

The body is checked against `GateRequest` in the OpenAPI document the package ships
(`gate/schema/openapi.yaml`, a link to the top-level `schema/` in a checkout) with jsonschema:
types, allowed values, ranges, patterns, required and unknown fields, each problem located by
its path (`github.sha`, `evals[2]`). Only what the schema cannot say stays here: blank or
multi-line text, ids with spaces, a wait beyond this server's deadline, and the rules across
fields (a commit status needs `sha`, a comment needs `pull_number` or `sha`). Every problem is
collected (the first `MAX_PROBLEMS` listed, the rest counted); the config is checked by the
same validator as the YAML file; what the request expands into is bounded before anything is
fetched (`gate.server.bounds`). jsonschema is imported here only: never on the CLI's path.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from gate.config.loader import config_from_data, load_config
from gate.core.errors import MAX_PROBLEMS, ConfigError, FaceWords, UsageError
from gate.core.gate_id import GATE_ID_RULE, MAX_STATUS_CONTEXT
from gate.core.model import EvalBy, EvalSpec, GateConfig
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
    "WORDS",
    "YAML_SOURCE",
    "GateCall",
    "GitHubPart",
    "config_error",
    "parse_call",
    "shown",
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
MAX_EVALS: Final = 100  # evaluations gated by one request (evals plus the config's evals:)
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


def shown(value: str, limit: int = 60) -> str:
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


# --------------------------------------------------------------------------- the schema

OPENAPI_PATH: Final = ("schema", "openapi.yaml")  # in the package: gate/schema/openapi.yaml
REQUEST_SCHEMA: Final = "#/components/schemas/GateRequest"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Said in words, not as the schema's pattern: what each patterned field must be.
_PATTERN_HINTS: Final = {
    "github.repository": "must be owner/name",
    "github.sha": "must be a full commit SHA (40 hexadecimal characters)",
    "github.gate_id": f"must be {GATE_ID_RULE}",
    "github.target_url": "must be an http(s) URL",
}
# What a missing required field is, after "is required: ".
_REQUIRED_HINTS: Final = {
    "config": "the gate's config, as an object or as YAML text",
    "github.repository": "the repository as owner/name",
    "github.token": "a GitHub token that may comment and set statuses",
}
_SECRETS: Final = frozenset({"github.token"})  # never described beyond their JSON type
_TYPE_WORDS: Final = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def _ecma_pattern(_validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[Any]:
    """JSON Schema's `pattern` as ECMA-262 reads it: `$` is the end of the text (Python's `$`
    also matches before a final newline, which would let "owner/name\n" through)."""
    from jsonschema.exceptions import ValidationError  # noqa: PLC0415 - already loaded

    if not isinstance(instance, str):
        return
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    if re.search(pattern, instance) is None:
        yield ValidationError(f"does not match {pattern!r}")


@functools.cache
def request_validator() -> Any:
    """A Draft 2020-12 validator of `GateRequest` from the OpenAPI document the package ships
    (`gate/schema/openapi.yaml`, the top-level `schema/openapi.yaml` in a checkout)."""
    from importlib.resources import files  # noqa: PLC0415 - once, on the first request

    import yaml  # noqa: PLC0415
    from jsonschema import Draft202012Validator, validators  # noqa: PLC0415

    text = files("gate").joinpath(*OPENAPI_PATH).read_text(encoding="utf-8")
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    schema = {"$schema": _DRAFT, "components": document["components"], "$ref": REQUEST_SCHEMA}
    Draft202012Validator.check_schema(schema)
    strict = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
    return strict(schema)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if len(part) <= 60 else part[:57] + "..."
            out += f".{name}" if out else name
    return out


def _got(where: str, value: Any) -> str:
    """The value sent, for `got ...` (its kind only for a secret or a value of another kind)."""
    if where in _SECRETS or isinstance(value, bool) or value is None:
        return _kind(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return shown(value)
    return _kind(value)


def _types(names: Any) -> str:
    listed = [names] if isinstance(names, str) else [n for n in names if n != "null"]
    return " or ".join(_TYPE_WORDS.get(n, n) for n in listed)


def _schema_message(error: Any, where: str, expected: dict[str, str]) -> str:
    """One schema error as `must be ..., got ...`, in the words of the fields' meaning."""
    keyword, value, schema = error.validator, error.instance, error.schema
    if where in expected:
        got = _kind(value) if keyword in ("type", "oneOf", "anyOf") else _got(where, value)
        return f"must be {expected[where]}, got {got}"
    if keyword == "type":
        return f"must be {_types(schema['type'])}, got {_kind(value)}"
    if keyword == "enum":
        allowed = ", ".join(str(v) for v in schema["enum"] if v is not None)
        return f"must be one of {allowed}, got {_got(where, value)}"
    if keyword == "pattern":
        return _PATTERN_HINTS.get(where, f"must match {schema['pattern']}")
    if keyword in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"must be between {low:,} and {high:,}, got {_got(where, value)}"
        if low is not None:
            return f"must be at least {low:,}, got {_got(where, value)}"
        return f"must be at most {high:,}, got {_got(where, value)}"
    if keyword in ("minLength", "maxLength"):
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is None:
            return f"must be at least {low:,} character{'s' if low != 1 else ''} long"
        return f"must be {max(low, 1) if low else 0} to {high:,} characters long"
    if keyword == "maxItems":
        return f"lists {len(value):,} items; at most {schema['maxItems']:,} a request"
    if keyword in ("oneOf", "anyOf"):
        kinds = [_types(branch.get("type", "value")) for branch in schema[keyword]]
        return f"must be {' or '.join(kinds)}, got {_kind(value)}"
    return f"is not valid ({keyword})"  # pragma: no cover - the keywords GateRequest uses


def _bounded(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with any list longer than MAX_EVALS + 1 cut to that length (its `maxItems` still
    fails; nothing else about a megabyte-long list needs checking item by item)."""
    cut = {k: v[: MAX_EVALS + 1] for k, v in data.items() if isinstance(v, list)}
    cut = {k: v for k, v in cut.items() if len(v) < len(data[k])}
    return {**data, **cut} if cut else data


def schema_problems(data: dict[str, Any], expected: dict[str, str]) -> list[tuple[str, str]]:
    """Every way `data` breaks `GateRequest`, as (field path, message), in the schema's
    order; unknown fields one by one."""
    out: list[tuple[str, str]] = []
    for error in request_validator().iter_errors(_bounded(data)):
        parts = list(error.absolute_path)
        keyword = error.validator
        if keyword == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    where = _path([*parts, name])
                    hint = _REQUIRED_HINTS.get(where)
                    out.append((where, f"is required: {hint}" if hint else "is required"))
        elif keyword == "additionalProperties":
            allowed = list(error.schema.get("properties", {}))
            prefix = _path(parts) + "." if parts else ""
            valid = ", ".join(prefix + name for name in allowed)
            for key in error.instance:
                if key not in allowed:
                    where = _path([*parts, key])
                    out.append((where, f"unknown field; valid fields are {valid}"))
        else:
            where = _path(parts)
            if keyword == "maxItems" and len(parts) == 1:
                error.instance = data[parts[0]]  # the list sent, not the cut one
            out.append((where, _schema_message(error, where, expected)))
    return out


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
            self.add(where, f"must be a number of seconds {bounds}, got {_number(value)}")
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
            400, "invalid_request", f"the request body must be a JSON object, got {_kind(data)}"
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
