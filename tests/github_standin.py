"""A stand-in for the GitHub REST API, for tests: a real aiohttp server (bind it to 127.0.0.1).

Every request is checked against GitHub's own REST description (the subset in
`tests/data/github/rest-api-subset.json`): the path must match a described template,
the method must be described for it, path and query parameters must have the described
types, and a JSON body must satisfy the operation's request schema (required fields,
types, enums, lengths; unknown fields are flagged too). Headers must be the ones GitHub
asks clients to send (User-Agent, `Accept: application/vnd.github+json`, a supported
X-GitHub-Api-Version). A request that breaks the description is answered like GitHub
would (404/400/422) AND recorded in `standin.violations`: tests assert it stays empty.

Behaviour modelled on GitHub:
- comments per (repo, issue) with ids, authors (login + type "Bot"/"User") and html_url;
  pagination with per_page (default 30, max 100) and a `Link` header with
  rel="next"/"last"/"first"/"prev", absolute URLs on the stand-in's own host, written with
  `/repositories/{id}/...` paths as GitHub does (clients must follow links verbatim);
- comment bodies over 65,536 characters -> 422 "body is too long" (GitHub's answer, not a
  violation); a status description over 140 characters -> 422 and a violation; only a
  comment's author may edit it (anyone else's -> 403 "Resource not accessible by
  integration", as the job's token gets);
- GET /user -> 403 "Resource not accessible by integration" (the job's GITHUB_TOKEN), or
  the login when `user_readable=True` (a personal access token);
- a missing token -> 401 "Requires authentication", a wrong one -> 401 "Bad credentials";
- commit statuses per sha (unknown sha -> 422 "No commit found for SHA"), pull requests
  per commit (with their base commit);
- check runs (`standin.check_runs`, `StandInCheckRun`): created (201, with an id; status
  `queued` unless given, `completed` with a conclusion), updated (PATCH: output's title,
  summary and text replaced, its annotations appended, as GitHub does; every state it went
  through in `states`), read, and listed per commit (`check_name`, `status` filters); more
  than 50 annotations in one request or a summary over 65,535 characters -> 422 and a
  violation; an unknown head_sha -> 422; 403s are scripted faults
  (`standin.fail("create-check-run", not_accessible())`);
- files per (ref, path) for the contents API (`add_file`): base64 content in 60-character
  lines, as GitHub sends it; for a file that is not there, the two 404s GitHub tells apart:
  the plain `Not Found` at a ref that exists (a commit added, a pull request's head or base,
  a ref a file was added at, a branch: `main` or a pull request's), `No commit found for the
  ref <ref>` at one that does not (403s and other failures are scripted faults:
  `standin.fail("get-content", not_accessible())`);
- commit objects (`GET /repos/{owner}/{repo}/git/commits/{sha}`): 200 for a commit that
  exists, else the plain 404;
- a GitHub App (`github_app=StandInApp(...)`, tests/github_app_standin.py): `GET /app`, a
  repository's installation and installation tokens, with JWTs checked for real (signature,
  `iss`, `iat`/`exp`) and tokens that expire; an installation token acts as `<slug>[bot]`
  (type Bot; `GET /user` is 403 for it, as for the job's token) on its installation's
  repositories only. Those three operations are described in `app-operations.json`, written
  for the stand-in from GitHub's REST documentation (GitHub's own subset has no App calls).

Scripted faults per operation are served (in order, one per request) after the request
passed the description checks and before authentication; `ECHO` in a fault's body is replaced
by the token the request sent (a server echoing it back):

    standin = GitHubStandIn(token="ghs_test")
    standin.add_pull("octo-org/octo-repo", 7, head_sha="a" * 40)
    standin.add_comments("octo-org/octo-repo", 7, 250, author="octocat")
    standin.fail("create-comment", not_accessible())
    standin.fail("list-comments", ok(), server_error(502))   # page 1 fine, page 2 fails
    server = await aiohttp_server(standin.app())
    ... standin.requests, standin.violations, standin.comments_on("octo-org/octo-repo", 7)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from aiohttp import web

from tests.github_app_standin import JWT_OPERATIONS, NOT_DECODED, StandInApp
from tests.standin_base import Hangs, credential_of, echoed, fault_body

DATA_DIR = Path(__file__).resolve().parent / "data" / "github"
DESCRIPTION_PATH = DATA_DIR / "rest-api-subset.json"
APP_DESCRIPTION_PATH = DATA_DIR / "app-operations.json"

SUPPORTED_API_VERSIONS = ("2022-11-28", "2026-03-10")
MEDIA_TYPE = "application/vnd.github+json"
COMMENT_MAX_CHARS = 65536
STATUS_DESCRIPTION_MAX = 140
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
DEFAULT_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
HTML_BASE = "https://github.com"
NOT_ACCESSIBLE = "Resource not accessible by integration"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
    "again. If you reach out to GitHub Support for help, please include the request ID "
    "0000:1111:2222:3333:4444."
)
DOCS = "https://docs.github.com/rest"

# Short names accepted by `fail()` besides operation ids ("issues/create-comment") and
# their part after the slash ("create-comment").
ALIASES: dict[str, str] = {
    "get-user": "users/get-authenticated",
    "create-status": "repos/create-commit-status",
    "commit-pulls": "repos/list-pull-requests-associated-with-commit",
    "get-pull": "pulls/get",
    "get-content": "repos/get-content",
    "get-git-commit": "git/get-commit",
    "create-check-run": "checks/create",
    "update-check-run": "checks/update",
    "get-check-run": "checks/get",
    "list-check-runs": "checks/list-for-ref",
    "get-app": "apps/get-authenticated",
    "get-installation": "apps/get-repo-installation",
    "create-token": "apps/create-installation-access-token",
}


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted answer, served instead of the normal behaviour (and consumed).

    status 0 means "answer normally" (to let some requests through before a fault).
    body: dict/list -> JSON; str/bytes as they are; None -> `{"message": ...}` typical of
    the status. headers: extra response headers. reset_in: send x-ratelimit-remaining: 0
    and x-ratelimit-reset = now + reset_in (epoch seconds). delay: seconds before the
    answer. hang: never answer (until the client leaves or the server stops).
    """

    status: int = 500
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    reset_in: float | None = None
    delay: float = 0.0
    hang: bool = False


def ok() -> Fault:
    """Answer this request normally (a placeholder to fault a later request)."""
    return Fault(status=0)


def not_accessible() -> Fault:
    """403 "Resource not accessible by integration" (fork PR, missing permission)."""
    return Fault(403, {"message": NOT_ACCESSIBLE, "documentation_url": DOCS, "status": "403"})


def bad_credentials() -> Fault:
    """401 "Bad credentials"."""
    return Fault(401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"})


def validation_failed(message: str = "Validation Failed", **error: str) -> Fault:
    """422 Validation Failed, with one entry in `errors` when keyword fields are given."""
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": "422"}
    if error:
        body["errors"] = [{"code": "custom", **error}]
    return Fault(422, body)


def too_many_requests(retry_after: float | None = 1) -> Fault:
    """429 with Retry-After (seconds)."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Fault(429, {"message": "Too Many Requests", "documentation_url": DOCS}, headers)


def primary_rate_limit(reset_in: float = 30, status: int = 403) -> Fault:
    """403 (or 429) "API rate limit exceeded" with x-ratelimit-remaining 0 and a reset time."""
    body = {
        "message": "API rate limit exceeded for installation ID 1.",
        "documentation_url": (
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            "#about-secondary-rate-limits"
        ),
        "status": str(status),
    }
    return Fault(status, body, reset_in=reset_in)


def secondary_rate_limit(retry_after: float | None = 1, status: int = 403) -> Fault:
    """403 (or 429) secondary rate limit, with Retry-After unless None (then: wait 60 s)."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    body = {"message": SECONDARY_MESSAGE, "documentation_url": DOCS, "status": str(status)}
    return Fault(status, body, headers)


def server_error(status: int = 500, retry_after: float | None = None) -> Fault:
    """A 5xx with GitHub's JSON error body."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Fault(status, {"message": "Server Error"}, headers)


def hang() -> Fault:
    """Never answer."""
    return Fault(hang=True)


def slow(delay: float) -> Fault:
    """Do what the request asks after `delay` seconds, and answer."""
    return Fault(status=0, delay=delay)


def applied_then_hang() -> Fault:
    """Do what the request asks, then never answer (a request that landed, its answer lost)."""
    return Fault(status=0, hang=True)


# --------------------------------------------------------------------------- the description


@dataclass(frozen=True, slots=True)
class Operation:
    """One described operation: method + path template, its parameters and body schema."""

    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    literal_segments: int
    path_params: Mapping[str, Mapping[str, Any]]
    query_params: Mapping[str, Mapping[str, Any]]
    body_schema: Mapping[str, Any] | None
    body_required: bool


def _compile(template: str, multi: frozenset[str] = frozenset()) -> tuple[re.Pattern[str], int]:
    """A template's pattern; a parameter marked `x-multi-segment` (a file path) spans slashes."""
    regex = ""
    literals = 0
    for segment in template.strip("/").split("/"):
        name = re.fullmatch(r"\{(\w+)\}", segment)
        if name:
            part = ".+" if name.group(1) in multi else "[^/]+"
            regex += f"/(?P<{name.group(1)}>{part})"
        else:
            regex += "/" + re.escape(segment)
            literals += 1
    return re.compile(regex + r"\Z"), literals


class RestDescription:
    """The operations of an OpenAPI 3 description, for matching and checking requests."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.operations: list[Operation] = []
        for template, item in data["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method == "parameters":
                    continue
                params = [*shared, *op.get("parameters", [])]
                multi = frozenset(p["name"] for p in params if p.get("x-multi-segment"))
                pattern, literals = _compile(template, multi)
                body = op.get("requestBody")
                schema = None
                if body is not None:
                    schema = body.get("content", {}).get("application/json", {}).get("schema")
                self.operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=op["operationId"],
                        pattern=pattern,
                        literal_segments=literals,
                        path_params={
                            p["name"]: p.get("schema", {}) for p in params if p["in"] == "path"
                        },
                        query_params={
                            p["name"]: p.get("schema", {}) for p in params if p["in"] == "query"
                        },
                        body_schema=schema,
                        body_required=bool(body and body.get("required")),
                    )
                )
        self.operation_ids = {op.operation_id for op in self.operations}

    @classmethod
    def load(cls, *paths: Path) -> RestDescription:
        """The operations of the descriptions at `paths` together (default: GitHub's subset
        and the App's three calls)."""
        merged: dict[str, Any] = {}
        for path in paths or (DESCRIPTION_PATH, APP_DESCRIPTION_PATH):
            merged.update(json.loads(path.read_text(encoding="utf-8"))["paths"])
        return cls({"paths": merged})

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], str | None]:
        """The operation for (method, raw path), its path parameters, or why none matches."""
        found: list[tuple[Operation, dict[str, str]]] = []
        templates: set[str] = set()
        for op in self.operations:
            m = op.pattern.match(path)
            if m is None:
                continue
            templates.add(op.template)
            if op.method == method:
                found.append((op, {k: unquote(v) for k, v in m.groupdict().items()}))
        if not found:
            if templates:
                return None, {}, f"method {method} is not described for {min(templates)}"
            return None, {}, f"path {path} matches no described path"
        found.sort(key=lambda pair: -pair[0].literal_segments)
        op, params = found[0]
        return op, params, None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_ok(value: Any, expected: str) -> bool:
    actual = _type_name(value)
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


def validate(value: Any, schema: Mapping[str, Any], where: str = "body") -> list[str]:
    """Problems of `value` against an OpenAPI 3.0 schema (the subset GitHub's bodies use)."""
    if value is None and schema.get("nullable"):
        return []
    problems: list[str] = []
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            options = [validate(value, sub, where) for sub in schema[combinator]]
            if not any(not found for found in options):
                problems.append(f"{where} matches none of the {combinator} schemas")
    # Beside a combinator, the schema's own keywords apply too (JSON Schema: all of them).
    expected = schema.get("type")
    if isinstance(expected, str) and not _type_ok(value, expected):
        return [f"{where} is a {_type_name(value)}, expected {expected}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} is {value!r}, not one of {schema['enum']}")
    if isinstance(value, str):
        limit = schema.get("maxLength")
        if isinstance(limit, int) and len(value) > limit:
            problems.append(f"{where} is {len(value)} characters long, more than {limit}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where} lacks the required field {name!r}")
        for name, item in value.items():
            if name in properties:
                problems.extend(validate(item, properties[name], f"{where}.{name}"))
            elif properties and schema.get("additionalProperties") is not True:
                problems.append(f"{where} has the undescribed field {name!r}")
    if isinstance(value, list):
        limit = schema.get("maxItems")
        if isinstance(limit, int) and len(value) > limit:
            problems.append(f"{where} has {len(value)} items, more than {limit}")
        if "items" in schema:
            for index, item in enumerate(value):
                problems.extend(validate(item, schema["items"], f"{where}[{index}]"))
    return problems


def _param_ok(raw: str, schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "integer":
        return re.fullmatch(r"\d+", raw) is not None
    return bool(raw)


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class StandInComment:
    """One issue comment held by the stand-in (mutable: PATCH edits `body`)."""

    id: int
    repo: str
    number: int
    body: str
    login: str
    user_type: str
    created_at: str
    updated_at: str


@dataclass(slots=True)
class StandInStatus:
    """One commit status as posted."""

    id: int
    repo: str
    sha: str
    state: str
    description: str | None
    context: str
    target_url: str | None
    creator: str
    created_at: str


@dataclass(slots=True)
class StandInPull:
    """A pull request (also an issue: it can be commented on)."""

    repo: str
    number: int
    head_sha: str
    state: str = "open"
    head_ref: str = "feature"
    base_ref: str = "main"
    base_sha: str = "b" * 40


@dataclass(slots=True)
class StandInCheckRun:
    """One check run as GitHub holds it (mutable: PATCH updates it)."""

    id: int
    repo: str
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    external_id: str | None = None
    details_url: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)  # appended by each PATCH
    states: list[tuple[str, str | None]] = field(default_factory=list)  # (status, conclusion)
    started_at: str | None = None
    completed_at: str | None = None


@dataclass(slots=True)
class RecordedRequest:
    """What the stand-in saw of one request, and the status it answered."""

    method: str
    path: str  # raw path as sent, without the query
    query_string: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: str | None  # the raw body text, if any
    json: Any  # the decoded JSON body (None if none or not JSON)
    operation: str | None = None  # operationId, e.g. "issues/create-comment"
    params: dict[str, str] = field(default_factory=dict)
    status: int = 0
    actor: str | None = None  # who the credential acts as (a login; "app" for the App's JWT)
    installation: int | None = None  # the installation of an installation token

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass(slots=True)
class _Repo:
    id: int
    full_name: str
    issues: set[int] = field(default_factory=set)
    commits: set[str] = field(default_factory=set)


class _Answer(Exception):
    """Control flow: stop handling and answer with this response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return web.Response(status=status, body=json.dumps(payload).encode(), headers=merged)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return _json_response(
        status, {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
    )


class GitHubStandIn(Hangs):
    """State and behaviour of the stand-in API; `app()` wraps it in an aiohttp application.

    token: the one static token accepted. login: who it acts as (the author of created
    comments and statuses; type "Bot" when it ends with "[bot]"). github_app: a GitHub App whose
    JWTs and installation tokens are accepted too (`StandInApp`). user_readable: GET /user
    answers the login (a PAT) instead of 403 (the job's GITHUB_TOKEN). base_path: serve
    under a prefix, as GitHub Enterprise does ("/api/v3"). repository_links: write Link
    URLs with /repositories/{id}/ paths, as github.com does.
    """

    def __init__(
        self,
        token: str = "ghs_test",
        login: str = "github-actions[bot]",
        *,
        user_readable: bool = False,
        base_path: str = "",
        repository_links: bool = True,
        html_base: str = HTML_BASE,
        description: RestDescription | None = None,
        github_app: StandInApp | None = None,
    ) -> None:
        self.token = token
        self.github_app = github_app
        self.login = login
        self.user_readable = user_readable
        self.base_path = base_path.rstrip("/")
        self.repository_links = repository_links
        self.html_base = html_base.rstrip("/")
        self.description = description or RestDescription.load()
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.comments: dict[tuple[str, int], list[StandInComment]] = {}
        self.statuses: dict[tuple[str, str], list[StandInStatus]] = {}
        self.pulls: dict[tuple[str, int], StandInPull] = {}
        self.files: dict[tuple[str, str, str], bytes] = {}  # (repo, ref, path) -> content
        self.check_runs: dict[int, StandInCheckRun] = {}
        self._repos: dict[str, _Repo] = {}
        self._users: dict[str, int] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._ids = itertools.count(1_000_000_001)
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._release: asyncio.Event | None = None

    # ---------------------------------------------------------------- seeding

    def add_repo(self, repo: str) -> int:
        """Make `owner/name` exist; returns its numeric id."""
        key = repo.lower()
        if key not in self._repos:
            self._repos[key] = _Repo(id=len(self._repos) + 100_001, full_name=repo)
        return self._repos[key].id

    def add_commit(self, repo: str, sha: str) -> None:
        """Make commit `sha` exist in `repo` (statuses on unknown commits get 422)."""
        self.add_repo(repo)
        self._repos[repo.lower()].commits.add(sha.lower())

    def add_issue(self, repo: str, number: int) -> None:
        """Make issue `number` exist in `repo` (comments on unknown issues get 404)."""
        self.add_repo(repo)
        self._repos[repo.lower()].issues.add(number)

    def add_pull(
        self,
        repo: str,
        number: int,
        *,
        head_sha: str = DEFAULT_SHA,
        state: str = "open",
        head_ref: str = "feature",
        base_ref: str = "main",
        base_sha: str = "b" * 40,
    ) -> StandInPull:
        """A pull request (an issue too) whose head is commit `head_sha` and base `base_sha`
        (which then exist)."""
        self.add_issue(repo, number)
        self.add_commit(repo, head_sha)
        self.add_commit(repo, base_sha)
        pull = StandInPull(
            repo, number, head_sha.lower(), state, head_ref, base_ref, base_sha.lower()
        )
        self.pulls[(repo.lower(), number)] = pull
        return pull

    def add_file(self, repo: str, path: str, content: bytes | str, *, ref: str) -> None:
        """Make file `path` exist at commit (or branch) `ref`, served by the contents API."""
        self.add_repo(repo)
        data = content.encode() if isinstance(content, str) else content
        self.files[(repo.lower(), ref.lower(), path)] = data

    def add_comment(
        self, repo: str, number: int, body: str, *, author: str = "octocat", author_type: str = ""
    ) -> StandInComment:
        """An existing comment on issue/PR `number` (which then exists)."""
        self.add_issue(repo, number)
        return self._new_comment(repo, number, body, author, author_type)

    def add_comments(
        self,
        repo: str,
        number: int,
        n: int,
        *,
        author: str = "octocat",
        author_type: str = "",
        body_fn: Callable[[int], str] | None = None,
    ) -> list[StandInComment]:
        """`n` comments by `author`; body_fn(i) (0-based) gives each body."""
        return [
            self.add_comment(
                repo,
                number,
                body_fn(index) if body_fn is not None else f"Comment {index + 1}",
                author=author,
                author_type=author_type,
            )
            for index in range(n)
        ]

    # ---------------------------------------------------------------- scripting & reading

    def fail(self, operation: str, *faults: Fault) -> None:
        """Queue faults for an operation ("create-comment", "issues/create-comment", "*")."""
        self._faults.setdefault(self._operation_id(operation), deque()).extend(faults)

    def clear_faults(self) -> None:
        """Forget every scripted fault not served yet (and the requests seen so far)."""
        self._faults.clear()
        self.requests.clear()

    def pending_faults(self) -> int:
        """How many scripted faults have not been served yet."""
        return sum(len(queue) for queue in self._faults.values())

    def comments_on(self, repo: str, number: int) -> list[StandInComment]:
        """The comments of issue/PR `number`, oldest first."""
        return list(self.comments.get((repo.lower(), number), []))

    def statuses_for(self, repo: str, sha: str) -> list[StandInStatus]:
        """The statuses posted on `sha`, oldest first."""
        return list(self.statuses.get((repo.lower(), sha.lower()), []))

    def check_runs_for(self, repo: str, sha: str | None = None) -> list[StandInCheckRun]:
        """The check runs created in `repo` (on `sha`, if given), oldest first."""
        return [
            run
            for run in self.check_runs.values()
            if run.repo.lower() == repo.lower() and (sha is None or run.head_sha == sha.lower())
        ]

    def requests_for(
        self, operation: str | None = None, method: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests of one operation (any name `fail` accepts) and/or method."""
        wanted = None if operation is None else self._operation_id(operation)
        return [
            r
            for r in self.requests
            if (wanted is None or wanted in ("*", r.operation))
            and (method is None or r.method == method.upper())
        ]

    def count(self, operation: str | None = None) -> int:
        """How many requests hit `operation` (or any)."""
        return len(self.requests_for(operation))

    def app(self) -> web.Application:
        """A fresh aiohttp application serving this stand-in's state."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_shutdown.append(self._on_shutdown)
        return app

    # ---------------------------------------------------------------- plumbing

    def _operation_id(self, name: str) -> str:
        if name == "*" or name in self.description.operation_ids:
            return name
        if name in ALIASES:
            return ALIASES[name]
        matches = [op for op in self.description.operation_ids if op.split("/", 1)[1] == name]
        if len(matches) == 1:
            return matches[0]
        raise ValueError(
            f"unknown operation {name!r}; use one of {sorted(self.description.operation_ids)}, "
            f"{sorted(ALIASES)} or '*'"
        )

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", "Z")

    def _user_id(self, login: str) -> int:
        return self._users.setdefault(login, 5000 + len(self._users))

    def _new_comment(
        self, repo: str, number: int, body: str, login: str, user_type: str
    ) -> StandInComment:
        stamp = self._now()
        comment = StandInComment(
            id=next(self._ids),
            repo=repo,
            number=number,
            body=body,
            login=login,
            user_type=user_type or ("Bot" if login.endswith("[bot]") else "User"),
            created_at=stamp,
            updated_at=stamp,
        )
        self.comments.setdefault((repo.lower(), number), []).append(comment)
        return comment

    def _violation(self, request: RecordedRequest, problem: str) -> None:
        self.violations.append(f"{request.method} {request.path}: {problem}")

    def _rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-used": "1",
            "x-ratelimit-resource": "core",
            "X-GitHub-Api-Version-Selected": SUPPORTED_API_VERSIONS[0],
            "X-GitHub-Request-Id": f"0000:{len(self.requests):04X}",
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        text = raw.decode("utf-8", errors="replace") if raw else None
        decoded: Any = None
        bad_json = False
        if raw:
            try:
                decoded = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                bad_json = True
        record = RecordedRequest(
            method=request.method,
            path=request.rel_url.raw_path,
            query_string=request.query_string,
            query=tuple(request.query.items()),
            headers=dict(request.headers),
            body=text,
            json=decoded,
        )
        self.requests.append(record)
        try:
            response = await self._respond(request, record, bad_json=bad_json)
        except _Answer as answer:
            response = answer.response
        for name, value in self._rate_headers().items():
            response.headers.setdefault(name, value)
        record.status = response.status
        return response

    async def _respond(
        self, request: web.Request, record: RecordedRequest, *, bad_json: bool
    ) -> web.StreamResponse:
        path = record.path
        if self.base_path:
            if not path.startswith(self.base_path + "/"):
                self._violation(record, f"path is not under the API base {self.base_path}")
                return _error(404, "Not Found")
            path = path[len(self.base_path) :]
        path = self._resolve_repository_id(path)
        op, params, problem = self.description.match(record.method, path)
        if op is None:
            self._violation(record, problem or "not described")
            return _error(404, "Not Found")
        record.operation = op.operation_id
        record.params = params
        self._check_headers(record)
        self._check_request(record, op, params, bad_json=bad_json)
        queue = self._faults.get(op.operation_id) or self._faults.get("*")
        fault = queue.popleft() if queue else None
        if fault is not None and fault.status != 0:
            return await self._serve_fault(request, fault)
        self._check_auth(record)
        if fault is not None and fault.delay > 0:  # a slow answer: done after the delay
            await asyncio.sleep(fault.delay)
        response = self._normal(request, record, op, params)
        if fault is not None and fault.hang:  # done, but the answer never comes
            await self._hang(request)
            return _error(504, "Gateway Timeout")
        return response

    def _resolve_repository_id(self, path: str) -> str:
        match = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
        if match is None:
            return path
        for repo in self._repos.values():
            if repo.id == int(match.group(1)):
                owner, name = repo.full_name.split("/")
                return f"/repos/{quote(owner)}/{quote(name)}{match.group(2) or ''}"
        return path

    def _check_headers(self, record: RecordedRequest) -> None:
        headers = {k.lower(): v for k, v in record.headers.items()}
        if not headers.get("user-agent"):
            self._violation(record, "no User-Agent header (GitHub rejects such requests)")
            raise _Answer(
                _error(
                    403,
                    "Request forbidden by administrative rules. "
                    "Please make sure your request has a User-Agent header",
                )
            )
        accept = headers.get("accept", "")
        if MEDIA_TYPE not in accept:
            self._violation(record, f"Accept is {accept!r}, expected {MEDIA_TYPE}")
        version = headers.get("x-github-api-version")
        if version is None:
            self._violation(record, "no X-GitHub-Api-Version header")
        elif version not in SUPPORTED_API_VERSIONS:
            self._violation(record, f"unsupported X-GitHub-Api-Version {version!r}")
            raise _Answer(
                _error(400, f"API version {version} is not supported.")  # GitHub's wording
            )

    def _check_request(
        self,
        record: RecordedRequest,
        op: Operation,
        params: Mapping[str, str],
        *,
        bad_json: bool,
    ) -> None:
        for name, value in params.items():
            if not _param_ok(value, op.path_params.get(name, {})):
                self._violation(record, f"path parameter {name}={value!r} is not a valid value")
                raise _Answer(_error(404, "Not Found"))
        for name, value in record.query:
            schema = op.query_params.get(name)
            if schema is None:
                self._violation(record, f"query parameter {name!r} is not described")
            elif not _param_ok(value, schema):
                self._violation(record, f"query parameter {name}={value!r} is not valid")
                raise _Answer(_error(422, "Invalid request.", errors=[f"{name} is invalid"]))
        if op.body_schema is None:
            if record.body:
                self._violation(record, f"{op.operation_id} takes no request body")
            return
        content_type = record.header("Content-Type") or ""
        if record.body and not content_type.startswith("application/json"):
            self._violation(record, f"Content-Type is {content_type!r}, expected application/json")
        if bad_json:
            self._violation(record, "the body is not JSON")
            raise _Answer(_error(400, "Problems parsing JSON"))
        if record.body is None:
            if op.body_required:
                self._violation(record, "the request body is required")
                raise _Answer(_error(400, "Problems parsing JSON"))
            return
        problems = validate(record.json, op.body_schema)
        if problems:
            for problem in problems:
                self._violation(record, problem)
            raise _Answer(_error(422, "Invalid request.\n\n" + "\n".join(problems)))

    def _check_auth(self, record: RecordedRequest) -> None:
        header = record.header("Authorization")
        if header is None:
            raise _Answer(_error(401, "Requires authentication"))
        scheme, _, credential = header.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            raise _Answer(_error(401, "Bad credentials"))
        app = self.github_app
        if record.operation in JWT_OPERATIONS:
            # Only the App's JWT reaches these, as a Bearer token.
            problem = NOT_DECODED if app is None or scheme.lower() != "bearer" else None
            problem = problem or (app.check_jwt(credential) if app is not None else None)
            if problem is not None:
                raise _Answer(_error(401, problem))
            record.actor = "app"
            return
        if credential == self.token:
            record.actor = self.login
            return
        issued = app.token(credential) if app is not None else None
        if app is None or issued is None:
            if app is not None and credential.count(".") == 2:
                self._violation(record, f"{record.operation} takes a token, not the App's JWT")
            raise _Answer(_error(401, "Bad credentials"))
        if app.expired(issued):
            app.expired_refused += 1
            raise _Answer(_error(401, "Bad credentials"))
        record.actor = app.bot_login
        record.installation = issued.installation_id

    def _actor(self, record: RecordedRequest) -> tuple[str, str]:
        """The login and user type the request's credential acts as."""
        login = record.actor or self.login
        return login, "Bot" if login.endswith("[bot]") else "User"

    async def _serve_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.hang:
            await self._hang(request)
            return _error(504, "Gateway Timeout")
        headers: dict[str, str] = {}
        if fault.reset_in is not None:
            headers.update(
                {
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "5000",
                    "x-ratelimit-reset": str(int(time.time() + fault.reset_in)),
                }
            )
        headers.update(fault.headers)
        if fault.body is None:
            response = _error(fault.status, f"HTTP {fault.status}")
        elif isinstance(fault.body, (dict, list)):
            response = _json_response(fault.status, echoed(fault.body, credential_of(request)))
        else:
            body, kind = fault_body(fault.body, echo=credential_of(request))
            response = web.Response(status=fault.status, body=body, content_type=kind)
        response.headers.update(headers)
        return response

    # ---------------------------------------------------------------- normal behaviour

    def _normal(
        self,
        request: web.Request,
        record: RecordedRequest,
        op: Operation,
        params: Mapping[str, str],
    ) -> web.Response:
        if op.operation_id == "users/get-authenticated":
            return self._get_user(record)
        if op.operation_id in JWT_OPERATIONS:
            return self._app_call(request, record, op, params)
        repo = self._repos.get(f"{params['owner']}/{params['repo']}".lower())
        if repo is None:
            return _error(404, "Not Found")
        app, installation = self.github_app, record.installation
        reached = set() if app is None else app.installations.get(installation or 0, set())
        if installation is not None and repo.full_name.lower() not in reached:
            return _error(404, "Not Found")  # not a repository of the token's installation
        handler = {
            "issues/list-comments": self._list_comments,
            "issues/create-comment": self._create_comment,
            "issues/get-comment": self._get_comment,
            "issues/update-comment": self._update_comment,
            "issues/delete-comment": self._delete_comment,
            "repos/create-commit-status": self._create_status,
            "repos/list-pull-requests-associated-with-commit": self._commit_pulls,
            "pulls/get": self._get_pull,
            "repos/get-content": self._get_content,
            "git/get-commit": self._get_git_commit,
            "checks/create": self._create_check_run,
            "checks/update": self._update_check_run,
            "checks/get": self._get_check_run,
            "checks/list-for-ref": self._list_check_runs,
        }[op.operation_id]
        return handler(request, record, repo, params)

    def _user_json(self, login: str, user_type: str) -> dict[str, Any]:
        user_id = self._user_id(login)
        return {
            "login": login,
            "id": user_id,
            "node_id": f"U_{user_id}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
            "url": f"https://api.github.com/users/{quote(login)}",
            "html_url": f"{self.html_base}/{quote(login)}",
            "type": user_type,
            "site_admin": False,
        }

    def _get_user(self, record: RecordedRequest) -> web.Response:
        if not self.user_readable or record.installation is not None:
            return _error(403, NOT_ACCESSIBLE)  # the job's token, an App's installation token
        return _json_response(200, self._user_json(*self._actor(record)))

    def _app_call(
        self,
        request: web.Request,
        record: RecordedRequest,
        op: Operation,
        params: Mapping[str, str],
    ) -> web.Response:
        app = self.github_app
        assert app is not None  # _check_auth let a JWT through
        if op.operation_id == "apps/get-authenticated":
            return _json_response(200, app.app_json())
        if op.operation_id == "apps/list-webhook-deliveries":
            return self._list_deliveries(request, record, app)
        if op.operation_id == "apps/redeliver-webhook-delivery":
            delivery_id = int(params["delivery_id"])
            if not any(d["id"] == delivery_id for d in app.deliveries):
                return _error(404, "Not Found")
            app.redelivered.append(delivery_id)
            return _json_response(202, {})
        if op.operation_id == "apps/get-repo-installation":
            repo = f"{params['owner']}/{params['repo']}"
            installation = app.installation_of(repo)
            if installation is None:
                return _error(404, "Not Found")
            return _json_response(200, app.installation_json(installation, repo))
        installation = int(params["installation_id"])
        if installation not in app.installations:
            return _error(404, "Not Found")
        return _json_response(201, app.token_json(app.issue(installation)))

    def _list_deliveries(
        self, request: web.Request, record: RecordedRequest, app: StandInApp
    ) -> web.Response:
        """Newest first, `per_page` (default 30, at most 100) a page, the next page's opaque
        `cursor` in the Link header, as GitHub pages webhook deliveries."""
        query = dict(record.query)
        per_page = min(max(int(query.get("per_page") or DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
        start = int(query["cursor"][2:]) if query.get("cursor", "").startswith("v1") else 0
        chosen = app.deliveries[start : start + per_page]
        headers: dict[str, str] = {}
        if start + per_page < len(app.deliveries):
            kept = [(k, v) for k, v in record.query if k != "cursor"]
            next_query = urlencode([*kept, ("cursor", f"v1{start + per_page}")])
            url = self._api_url(request, "/app/hook/deliveries")
            headers["Link"] = f'<{url}?{next_query}>; rel="next"'
        return _json_response(200, chosen, headers=headers)

    def _api_url(self, request: web.Request, path: str) -> str:
        return f"{request.url.origin()}{self.base_path}{path}"

    def _comment_json(self, request: web.Request, comment: StandInComment) -> dict[str, Any]:
        is_pull = (comment.repo.lower(), comment.number) in self.pulls
        kind = "pull" if is_pull else "issues"
        return {
            "id": comment.id,
            "node_id": f"IC_{comment.id}",
            "url": self._api_url(request, f"/repos/{comment.repo}/issues/comments/{comment.id}"),
            "html_url": (
                f"{self.html_base}/{comment.repo}/{kind}/{comment.number}#issuecomment-{comment.id}"
            ),
            "issue_url": self._api_url(request, f"/repos/{comment.repo}/issues/{comment.number}"),
            "body": comment.body,
            "user": self._user_json(comment.login, comment.user_type),
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
            "author_association": "NONE" if comment.user_type == "Bot" else "CONTRIBUTOR",
            "performed_via_github_app": None,
        }

    def _page(
        self, request: web.Request, record: RecordedRequest, repo: _Repo, items: list[Any]
    ) -> tuple[list[Any], dict[str, str]]:
        """Slice `items` by per_page/page and build GitHub's Link header."""
        query = dict(record.query)
        per_page = int(query.get("per_page", DEFAULT_PER_PAGE) or DEFAULT_PER_PAGE)
        per_page = min(max(per_page, 1), MAX_PER_PAGE)
        page = max(int(query.get("page", 1) or 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chosen = items[(page - 1) * per_page : page * per_page]
        if len(items) <= per_page:
            return chosen, {}
        path = record.path
        if self.base_path:
            path = path[len(self.base_path) :]
        if self.repository_links:
            path = re.sub(r"^/repos/[^/]+/[^/]+", f"/repositories/{repo.id}", path)
        kept = [(k, v) for k, v in record.query if k != "page"]

        def link(target: int, rel: str) -> str:
            query_text = urlencode([*kept, ("page", str(target))])
            return f'<{self._api_url(request, path)}?{query_text}>; rel="{rel}"'

        links: list[str] = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        return chosen, {"Link": ", ".join(links)} if links else {}

    def _issue_or_404(self, repo: _Repo, params: Mapping[str, str]) -> int:
        number = int(params["issue_number"])
        if number not in repo.issues:
            raise _Answer(_error(404, "Not Found"))
        return number

    def _body_or_422(self, record: RecordedRequest) -> str:
        body = record.json["body"]
        if len(body) > COMMENT_MAX_CHARS:
            raise _Answer(
                _json_response(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "IssueComment",
                                "code": "custom",
                                "field": "body",
                                "message": (
                                    f"body is too long (maximum is {COMMENT_MAX_CHARS} characters)"
                                ),
                            }
                        ],
                        "documentation_url": f"{DOCS}/issues/comments#create-an-issue-comment",
                        "status": "422",
                    },
                )
            )
        return str(body)

    def _list_comments(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        number = self._issue_or_404(repo, params)
        items = self.comments.get((repo.full_name.lower(), number), [])
        since = dict(record.query).get("since")
        if since:
            items = [c for c in items if c.updated_at >= since]
        chosen, headers = self._page(request, record, repo, items)
        return _json_response(200, [self._comment_json(request, c) for c in chosen], headers)

    def _create_comment(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        number = self._issue_or_404(repo, params)
        body = self._body_or_422(record)
        comment = self._new_comment(repo.full_name, number, body, *self._actor(record))
        payload = self._comment_json(request, comment)
        return _json_response(201, payload, {"Location": payload["url"]})

    def _find_comment(self, repo: _Repo, params: Mapping[str, str]) -> StandInComment:
        wanted = int(params["comment_id"])
        for (name, _), comments in self.comments.items():
            if name != repo.full_name.lower():
                continue
            for comment in comments:
                if comment.id == wanted:
                    return comment
        raise _Answer(_error(404, "Not Found"))

    def _get_comment(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        del record
        return _json_response(200, self._comment_json(request, self._find_comment(repo, params)))

    def _update_comment(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        comment = self._find_comment(repo, params)
        if comment.login.casefold() != self._actor(record)[0].casefold():
            # Only its author may edit a comment (the job's token, an App's: 403 like this).
            return _error(403, NOT_ACCESSIBLE)
        comment.body = self._body_or_422(record)
        comment.updated_at = self._now()
        return _json_response(200, self._comment_json(request, comment))

    def _delete_comment(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        del request, record
        comment = self._find_comment(repo, params)
        self.comments[(repo.full_name.lower(), comment.number)].remove(comment)
        return web.Response(status=204)

    def _create_status(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        sha = params["sha"].lower()
        data = record.json
        description = data.get("description")
        if isinstance(description, str) and len(description) > STATUS_DESCRIPTION_MAX:
            self._violation(
                record,
                f"description is {len(description)} characters, more than "
                f"{STATUS_DESCRIPTION_MAX} (GitHub rejects or truncates it)",
            )
            return _json_response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "Status",
                            "code": "custom",
                            "field": "description",
                            "message": "description is too long (maximum is 140 characters)",
                        }
                    ],
                    "documentation_url": DOCS,
                    "status": "422",
                },
            )
        if sha not in repo.commits:
            return _error(422, f"No commit found for SHA: {params['sha']}")
        status = StandInStatus(
            id=next(self._ids),
            repo=repo.full_name,
            sha=sha,
            state=data["state"],
            description=description,
            context=data.get("context", "default"),
            target_url=data.get("target_url"),
            creator=self._actor(record)[0],
            created_at=self._now(),
        )
        self.statuses.setdefault((repo.full_name.lower(), sha), []).append(status)
        return _json_response(
            201,
            {
                "url": self._api_url(request, f"/repos/{repo.full_name}/statuses/{sha}"),
                "id": status.id,
                "node_id": f"SC_{status.id}",
                "state": status.state,
                "description": status.description,
                "target_url": status.target_url,
                "context": status.context,
                "created_at": status.created_at,
                "updated_at": status.created_at,
                "creator": self._user_json(*self._actor(record)),
            },
        )

    def _pull_json(self, request: web.Request, pull: StandInPull) -> dict[str, Any]:
        return {
            "url": self._api_url(request, f"/repos/{pull.repo}/pulls/{pull.number}"),
            "id": 900_000 + pull.number,
            "number": pull.number,
            "state": pull.state,
            "html_url": f"{self.html_base}/{pull.repo}/pull/{pull.number}",
            "head": {"sha": pull.head_sha, "ref": pull.head_ref},
            "base": {"ref": pull.base_ref, "sha": pull.base_sha},
        }

    def _commit_pulls(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        sha = params["commit_sha"].lower()
        if sha not in repo.commits:
            return _error(422, f"No commit found for SHA: {params['commit_sha']}")
        pulls = [
            p
            for (name, _), p in sorted(self.pulls.items())
            if name == repo.full_name.lower() and p.head_sha == sha
        ]
        chosen, headers = self._page(request, record, repo, pulls)
        return _json_response(200, [self._pull_json(request, p) for p in chosen], headers)

    def _get_pull(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        del record
        pull = self.pulls.get((repo.full_name.lower(), int(params["pull_number"])))
        if pull is None:
            return _error(404, "Not Found")
        return _json_response(200, self._pull_json(request, pull))

    def _get_content(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        """A file as GitHub answers it: base64 in lines of 60 characters, each ending in a
        newline; when the file is not there at `ref` (default: "main"), GitHub's plain 404 if
        the ref exists, its 404 naming the ref if not."""
        ref = dict(record.query).get("ref", "main")
        path = params["path"]
        data = self.files.get((repo.full_name.lower(), ref.lower(), path))
        if data is None:
            if not self._ref_exists(repo, ref):
                return _error(404, f"No commit found for the ref {ref}")
            return _error(404, "Not Found")
        encoded = base64.b64encode(data).decode()
        content = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's blob id
        api = self._api_url(request, f"/repos/{repo.full_name}/contents/{quote(path)}")
        html = f"{self.html_base}/{repo.full_name}/blob/{ref}/{quote(path)}"
        git = self._api_url(request, f"/repos/{repo.full_name}/git/blobs/{blob}")
        return _json_response(
            200,
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": content,
                "sha": blob,
                "url": f"{api}?ref={quote(ref)}",
                "git_url": git,
                "html_url": html,
                "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
                "_links": {"git": git, "self": f"{api}?ref={quote(ref)}", "html": html},
            },
        )

    def _commit_exists(self, repo: _Repo, sha: str) -> bool:
        """A commit added to `repo` (a pull request's head or base too), or one a file was
        added at."""
        key, sha = repo.full_name.lower(), sha.lower()
        return sha in repo.commits or any(r == key and at == sha for r, at, _ in self.files)

    def _ref_exists(self, repo: _Repo, ref: str) -> bool:
        """A commit (`_commit_exists`) or a branch: `main`, or a pull request's head or base."""
        key = repo.full_name.lower()
        branches = {"main"} | {
            name.lower()
            for (name_repo, _), pull in self.pulls.items()
            if name_repo == key
            for name in (pull.head_ref, pull.base_ref)
        }
        return ref.lower() in branches or self._commit_exists(repo, ref)

    def _get_git_commit(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        """A commit object (what GitHub sends, with fixed author and message); the plain 404
        for a commit that is not in the repository."""
        del record
        sha = params["commit_sha"].lower()
        if not self._commit_exists(repo, sha):
            return _error(404, "Not Found")
        url = self._api_url(request, f"/repos/{repo.full_name}/git/commits/{sha}")
        tree = hashlib.sha1(sha.encode()).hexdigest()
        signer = {"date": self._now(), "name": "Monalisa Octocat", "email": "octocat@github.com"}
        return _json_response(
            200,
            {
                "sha": sha,
                "node_id": f"C_{sha[:20]}",
                "url": url,
                "html_url": f"{self.html_base}/{repo.full_name}/commit/{sha}",
                "author": signer,
                "committer": signer,
                "message": "a commit",
                "tree": {
                    "sha": tree,
                    "url": self._api_url(request, f"/repos/{repo.full_name}/git/trees/{tree}"),
                },
                "parents": [],
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
        )

    def _check_run_json(self, request: web.Request, run: StandInCheckRun) -> dict[str, Any]:
        url = self._api_url(request, f"/repos/{run.repo}/check-runs/{run.id}")
        return {
            "id": run.id,
            "node_id": f"CR_{run.id}",
            "head_sha": run.head_sha,
            "external_id": run.external_id or "",
            "url": url,
            "html_url": f"{self.html_base}/{run.repo}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{url}/annotations",
            },
            "name": run.name,
            "pull_requests": [],
        }

    def _apply_check_run(self, run: StandInCheckRun, data: Mapping[str, Any]) -> None:
        """A create or update body applied as GitHub does: a conclusion completes the run,
        output's texts are replaced and its annotations appended."""
        for key in ("name", "external_id", "details_url", "started_at", "completed_at"):
            if key in data:
                setattr(run, key, data[key])
        if "status" in data:
            run.status = data["status"]
            if run.status != "completed":
                run.conclusion = None  # GitHub: a run queued or in progress again has none
        if "conclusion" in data:
            run.conclusion = data["conclusion"]
            run.status = "completed"
        output = data.get("output")
        if isinstance(output, Mapping):
            for key in ("title", "summary", "text"):
                if key in output:
                    setattr(run, key, output[key])
            run.annotations.extend(output.get("annotations") or [])
        run.states.append((run.status, run.conclusion))

    def _create_check_run(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        del params
        data = record.json
        sha = str(data["head_sha"]).lower()
        if sha not in repo.commits:
            return _error(422, f"No commit found for SHA: {data['head_sha']}")
        run = StandInCheckRun(id=next(self._ids), repo=repo.full_name, name="", head_sha=sha)
        self._apply_check_run(run, data)
        self.check_runs[run.id] = run
        return _json_response(201, self._check_run_json(request, run))

    def _find_check_run(self, repo: _Repo, params: Mapping[str, str]) -> StandInCheckRun:
        run = self.check_runs.get(int(params["check_run_id"]))
        if run is None or run.repo.lower() != repo.full_name.lower():
            raise _Answer(_error(404, "Not Found"))
        return run

    def _update_check_run(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        run = self._find_check_run(repo, params)
        self._apply_check_run(run, record.json)
        return _json_response(200, self._check_run_json(request, run))

    def _get_check_run(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        del record
        return _json_response(
            200, self._check_run_json(request, self._find_check_run(repo, params))
        )

    def _list_check_runs(
        self,
        request: web.Request,
        record: RecordedRequest,
        repo: _Repo,
        params: Mapping[str, str],
    ) -> web.Response:
        query = dict(record.query)
        runs = [
            r
            for r in self.check_runs_for(repo.full_name, params["ref"])
            if query.get("check_name", r.name) == r.name
            and query.get("status", r.status) == r.status
        ]
        chosen, headers = self._page(request, record, repo, runs[::-1])  # newest first
        body = {
            "total_count": len(runs),
            "check_runs": [self._check_run_json(request, r) for r in chosen],
        }
        return _json_response(200, body, headers)


class RecordingSleep:
    """An async no-op `sleep` that records the delays asked of it (tests stay fast)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def leaks(standin: GitHubStandIn, secret: str) -> list[str]:
    """Where `secret` travelled other than in an Authorization header (should be nowhere)."""
    found: list[str] = []
    for r in standin.requests:
        texts = {"path": r.path, "query": r.query_string, "body": r.body or ""}
        texts.update(
            {f"header {k}": v for k, v in r.headers.items() if k.lower() != "authorization"}
        )
        found.extend(f"{r.method} {r.path}: {where}" for where, t in texts.items() if secret in t)
    return found
