"""The Roboflow model-evals REST API as pure functions (sans-I/O).

Everything here maps values to values: request paths from ids, and a response's
(status, headers, body) to decoded data or to one typed exception whose message is a
single self-contained line (what was fetched, the HTTP status, the server's error code
and message, how to fix it). Sockets, timeouts and retries are `gate.http`'s; the
results-source port's error (`NotReady`, `gate.fetch`) and the core's `EvalInfo` are
produced here.
This module must not import aiohttp.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from gate import fetch
from gate.core.errors import ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery
from gate.core.redact import redact_line
from gate.http.body import DETAIL_MAX, UnusableBody, error_body, json_body, json_type
from gate.http.errors import HttpError
from gate.http.text import header, human_size, one_line, parse_retry_after

__all__ = [
    "DEFAULT_API_URL",
    "LIST_KEYS",
    "MAX_BODY_BYTES",
    "AuthError",
    "BadRequest",
    "BadResponse",
    "DeadlineExceeded",
    "EvalNotFound",
    "InvalidPanelQuery",
    "NotReady",
    "RateLimited",
    "RoboflowError",
    "ServerError",
    "TransportError",
    "confusion_matrix_path",
    "error_code",
    "eval_path",
    "human_size",
    "image_predictions_path",
    "list_path",
    "map_results_path",
    "one_line",
    "parse_eval_info",
    "parse_eval_list",
    "parse_panel_response",
    "parse_response",
    "parse_retry_after",
    "performance_by_class_path",
]

DEFAULT_API_URL = "https://api.roboflow.com"
MAX_BODY_BYTES = 32 * 1024 * 1024

# Where a list response may keep its entries (the shape is not documented).
LIST_KEYS: tuple[str, ...] = ("evals", "modelEvals", "items", "data", "results")

_DETAIL_MAX = DETAIL_MAX
_EPOCH_MS_THRESHOLD = 1e11  # a larger number is milliseconds (1e11 s is the year 5138)


# --------------------------------------------------------------------------- errors


class RoboflowError(ResultsUnavailable, HttpError):
    """A Roboflow request did not give usable data. `str()` is a one-line message.

    Both a gate error (exit 3, results unavailable) and an `HttpError` (status,
    retry_after, retryable), so `gate.http` retries it by the same rules as any API's.
    """

    def __init__(
        self,
        message: str,
        *,
        eval_id: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, eval_id=eval_id)  # on through the MRO to HttpError
        self.status = status
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable  # e.g. truncated JSON is retryable, too large is not


class AuthError(RoboflowError):
    """401/403: the key is missing, wrong, lacks the scope, or belongs to another workspace."""


class EvalNotFound(RoboflowError):
    """404: no such evaluation (or workspace) for this key."""


class NotReady(RoboflowError, fetch.NotReady):
    """409 model_eval_not_done: the eval is still running, or its panel data is missing."""


class BadRequest(RoboflowError):
    """400 and any other unexpected 4xx: the request itself is wrong."""


class InvalidPanelQuery(BadRequest):
    """A panel refused its query (400 invalid_split or invalid_confidence), or it was refused
    before sending: a split the panel does not take, a confidence outside 0..100."""


class RateLimited(RoboflowError):
    """429: slow down; `retry_after` holds the server's hint in seconds, if any."""

    retryable = True
    rate_limit = True


class ServerError(RoboflowError):
    """5xx: the server failed; worth retrying."""

    retryable = True


class BadResponse(RoboflowError):
    """A success status with an unusable body (not JSON, truncated, too large, wrong shape)."""


class TransportError(RoboflowError):
    """No HTTP response at all: connection refused/reset, DNS, timeout, body cut short."""

    retryable = True


class DeadlineExceeded(RoboflowError):
    """The overall deadline passed before a usable response arrived."""


# --------------------------------------------------------------------------- paths


def _segment(value: str) -> str:
    if value in (".", ".."):  # a dot segment would be resolved away by servers and proxies
        return value.replace(".", "%2E")
    return quote(value, safe="")


def eval_path(workspace: str, eval_id: str) -> str:
    """`/{workspace}/model-evals/{eval_id}` with each segment percent-quoted."""
    return f"/{_segment(workspace)}/model-evals/{_segment(eval_id)}"


def map_results_path(workspace: str, eval_id: str) -> str:
    """`/{workspace}/model-evals/{eval_id}/map-results`."""
    return eval_path(workspace, eval_id) + "/map-results"


MAX_IMAGE_PAGE = 1000  # image-predictions' largest `limit`


def _panel_query(
    split: str, confidence: int | None, extra: tuple[tuple[str, str], ...] = ()
) -> str:
    if not split or split != split.strip():
        raise ValueError(f"split {one_line(split, limit=40)!r} is not a split name")
    query: list[tuple[str, str]] = [("split", split)]
    if confidence is not None:
        if isinstance(confidence, bool) or not 0 <= confidence <= 100:
            raise ValueError(f"confidence must be an integer 0..100, got {confidence!r}")
        query.append(("confidence", str(confidence)))
    query.extend(extra)
    return "?" + urlencode(query, quote_via=quote)


def confusion_matrix_path(
    workspace: str, eval_id: str, *, split: str, confidence: int | None = None
) -> str:
    """`/{workspace}/model-evals/{eval_id}/confusion-matrix?split=..[&confidence=..]`: the
    confidence (an integer percentage) left out is the eval's canonical threshold."""
    return eval_path(workspace, eval_id) + "/confusion-matrix" + _panel_query(split, confidence)


def performance_by_class_path(workspace: str, eval_id: str, *, split: str) -> str:
    """`/{workspace}/model-evals/{eval_id}/performance-by-class?split=..` (train, valid or
    test: `all` is a ValueError here, as the server refuses it with 400 invalid_split)."""
    if split == "all":
        raise ValueError("performance-by-class takes split train, valid or test, not 'all'")
    return eval_path(workspace, eval_id) + "/performance-by-class" + _panel_query(split, None)


def image_predictions_path(
    workspace: str,
    eval_id: str,
    *,
    split: str,
    offset: int,
    limit: int,
    confidence: int | None = None,
) -> str:
    """`/{workspace}/model-evals/{eval_id}/image-predictions?split=..&offset=..&limit=..`
    (limit 1..1000, offset >= 0: else a ValueError)."""
    if not 1 <= limit <= MAX_IMAGE_PAGE:
        raise ValueError(f"the image-predictions limit must be 1..{MAX_IMAGE_PAGE}, got {limit}")
    if offset < 0:
        raise ValueError(f"the image-predictions offset must be >= 0, got {offset}")
    query = _panel_query(split, confidence, (("offset", str(offset)), ("limit", str(limit))))
    return eval_path(workspace, eval_id) + "/image-predictions" + query


def list_path(workspace: str, query: EvalQuery) -> str:
    """`/{workspace}/model-evals?project=..&status=..&limit=..` (None filters are left out).

    The server takes at most one of project, version and model (else 400
    invalid_filter_combination): more than one is a ValueError here, before any request."""
    filters = [("project", query.project), ("version", query.version), ("model", query.model)]
    given = [(k, v) for k, v in filters if v is not None]
    if len(given) > 1:
        raise ValueError(
            "the eval list takes at most one of project, version and model, got "
            + ", ".join(k for k, _ in given)
        )
    params: list[tuple[str, str]] = list(given)
    if query.status is not None:
        params.append(("status", query.status))
    params.append(("limit", str(query.limit)))
    return f"/{_segment(workspace)}/model-evals?{urlencode(params, quote_via=quote)}"


# --------------------------------------------------------------------------- text helpers


def _error_detail(headers: Mapping[str, str], body: bytes, secrets: Sequence[str] = ()) -> str:
    """The server's `error: message` from a JSON body, sanitised (`secrets` masked, then cut
    short); or what kind of body it was."""
    data, kind = error_body(headers, body, secrets=secrets)
    if kind is not None:
        return kind
    if not isinstance(data, dict):
        return "JSON body without an error message"
    code = data.get("error")
    message = data.get("message")
    if isinstance(code, dict):  # some Roboflow endpoints nest it: {"error": {"message", "type"}}
        message = message if message is not None else code.get("message")
        code = code.get("type", code.get("code"))
    parts = [str(part) for part in (code, message) if part is not None and str(part).strip()]
    if not parts:
        return "JSON body without an error message"
    return redact_line(": ".join(parts), secrets, limit=_DETAIL_MAX)


def error_code(headers: Mapping[str, str], body: bytes) -> str | None:
    """The `error` code of a JSON error body (`{"error": "invalid_split", ...}`), if any."""
    data, kind = error_body(headers, body)
    if kind is not None or not isinstance(data, dict):
        return None
    code = data.get("error")
    if isinstance(code, dict):
        code = code.get("type", code.get("code"))
    return code if isinstance(code, str) else None


# --------------------------------------------------------------------------- responses


def parse_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    eval_id: str | None = None,
    workspace: str | None = None,
    now: datetime | None = None,
    max_body: int = MAX_BODY_BYTES,
    secrets: Sequence[str] = (),
) -> Any:
    """Decode a 2xx JSON body (a dict or a list), or raise the typed error for the response.

    `what` names the request for messages ("map-results for eval abc"). `workspace` and
    `now` (for an HTTP-date Retry-After; default: the current UTC time) only refine
    messages and hints. Messages never include headers; `secrets` (the key) are masked in
    the server's text before it is cut short.
    """
    what = one_line(what)
    where = f" in workspace {one_line(workspace)}" if workspace else ""
    if 200 <= status < 300:
        return _decode_success(
            status, headers, body, what=what, eval_id=eval_id, max_body=max_body, secrets=secrets
        )

    detail = _error_detail(headers, body, secrets)
    prefix = f"{what}: HTTP {status} ({detail})"
    if status in (401, 403):
        scope = f" for workspace {one_line(workspace)}" if workspace else ""
        raise AuthError(
            f"{prefix}: Roboflow refused the API key; check ROBOFLOW_API_KEY and that the key "
            f"has the model-eval:read scope{scope}",
            eval_id=eval_id,
            status=status,
        )
    if status == 404:
        if eval_id is not None:
            message = (
                f"{prefix}: evaluation {one_line(eval_id)} not found{where}; "
                "check the eval id and the workspace"
            )
        else:
            message = f"{prefix}: nothing found{where}; check the workspace name"
        raise EvalNotFound(message, eval_id=eval_id, status=status)
    if status == 409:
        subject = f"evaluation {one_line(eval_id)}" if eval_id is not None else "the evaluation"
        raise NotReady(
            f"{prefix}: {subject} has no results yet (still running, or its data is missing); "
            "wait for it to finish or check its status in Roboflow",
            eval_id=eval_id,
            status=status,
        )
    if status == 429:
        retry_after = parse_retry_after(header(headers, "Retry-After"), now or datetime.now(UTC))
        raise RateLimited(
            f"{prefix}: Roboflow rate limit hit; retry later or lower the request rate",
            eval_id=eval_id,
            status=status,
            retry_after=retry_after,
        )
    if 400 <= status < 500:
        raise BadRequest(
            f"{prefix}: Roboflow rejected the request; check the eval id, workspace and filters",
            eval_id=eval_id,
            status=status,
        )
    if 500 <= status < 600:
        retry_after = parse_retry_after(header(headers, "Retry-After"), now or datetime.now(UTC))
        raise ServerError(
            f"{prefix}: Roboflow had a server error; retry later",
            eval_id=eval_id,
            status=status,
            retry_after=retry_after,
        )
    if 300 <= status < 400:
        raise BadResponse(
            f"{what}: unexpected HTTP {status} redirect; check the API URL "
            "(it must be the API's final https address)",
            eval_id=eval_id,
            status=status,
        )
    raise BadResponse(
        f"{what}: unexpected HTTP status {status}; check the API URL",
        eval_id=eval_id,
        status=status,
    )


def _decode_success(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    eval_id: str | None,
    max_body: int,
    secrets: Sequence[str],
) -> Any:
    try:
        # NaN/Infinity are kept: readers mark such values malformed one by one (map-results)
        # or refuse them where they matter (timestamps), as they do for any wrong value.
        data = json_body(status, headers, body, max_body=max_body, allow_nan=True, secrets=secrets)
    except UnusableBody as exc:
        raise BadResponse(
            f"{what}: {exc}", eval_id=eval_id, status=status, retryable=exc.retryable
        ) from None
    if not isinstance(data, (dict, list)):
        raise BadResponse(
            f"{what}: HTTP {status} JSON is a {_json_type(data)}, expected an object or a list",
            eval_id=eval_id,
            status=status,
            retryable=False,
        )
    return data


_json_type = json_type

_PANEL_QUERY_ERRORS = {
    "invalid_split": (
        "Roboflow does not take split {split} for this panel; use a split it documents "
        "(train, valid or test; the confusion matrix also takes all)"
    ),
    "invalid_confidence": (
        "Roboflow refused the confidence threshold eval-gate sent; this is a bug in eval-gate, "
        "please report it"
    ),
}


def parse_panel_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    split: str,
    eval_id: str,
    workspace: str | None = None,
    now: datetime | None = None,
    max_body: int = MAX_BODY_BYTES,
    secrets: Sequence[str] = (),
) -> dict[str, Any]:
    """A panel's answer (confusion-matrix, performance-by-class, image-predictions): its JSON
    object, InvalidPanelQuery for a 400 invalid_split or invalid_confidence, and otherwise
    what `parse_response` raises (404, 409 NotReady, 429, 5xx, unusable bodies...)."""
    if status == 400:
        code = error_code(headers, body)
        if code in _PANEL_QUERY_ERRORS:
            detail = _error_detail(headers, body, secrets)
            fix = _PANEL_QUERY_ERRORS[code].format(split=repr(one_line(split, limit=40)))
            raise InvalidPanelQuery(
                f"{one_line(what)}: HTTP 400 ({detail}): {fix}", eval_id=eval_id, status=status
            )
    data = parse_response(
        status,
        headers,
        body,
        what=what,
        eval_id=eval_id,
        workspace=workspace,
        now=now,
        max_body=max_body,
        secrets=secrets,
    )
    if not isinstance(data, dict):
        raise BadResponse(
            f"{one_line(what)}: expected a JSON object, got a list",
            eval_id=eval_id,
            retryable=False,
        )
    return data


# --------------------------------------------------------------------------- eval info


def _bad(what: str, problem: str, eval_id: str | None) -> BadResponse:
    return BadResponse(f"{what}: {problem}", eval_id=eval_id, retryable=False)


def _optional_id(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key not in data or data[key] is None:
            continue
        value = data[key]
        if isinstance(value, bool):
            raise TypeError(f"field {key!r} is a boolean, expected a string")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            return value if value.strip() else None
        raise TypeError(f"field {key!r} is a {_json_type(value)}, expected a string")
    return None


def _parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 (Z or offset; naive = UTC), epoch s/ms, or Firestore {_seconds, _nanoseconds}."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("is a boolean, expected a timestamp")
    if isinstance(value, Mapping) and "_seconds" in value:  # Firestore-style timestamps
        seconds = value["_seconds"]
        nanos = value.get("_nanoseconds", 0) or 0
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError("has a non-numeric _seconds")
        if isinstance(nanos, bool) or not isinstance(nanos, (int, float)):
            raise TypeError("has a non-numeric _nanoseconds")
        return _from_epoch(float(seconds) + float(nanos) / 1e9)
    if isinstance(value, (int, float)):
        number = float(value)
        if abs(number) >= _EPOCH_MS_THRESHOLD:
            number /= 1000.0
        return _from_epoch(number)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return _parse_timestamp(float(text))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{one_line(text, limit=40)!r} is not an ISO-8601 time") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise TypeError(f"is a {_json_type(value)}, expected a timestamp")


def _from_epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise ValueError("is not a finite number")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("is out of range") from None


def parse_eval_info(data: Any, *, what: str = "eval info", eval_id: str | None = None) -> EvalInfo:
    """Read one eval object; legacy `id`/`projectId` accepted, unknown fields ignored.

    Raises BadResponse (naming the field) when the object is unusable: not an object,
    no id, no status, or a known field of the wrong type.
    """
    if not isinstance(data, Mapping):
        raise _bad(what, f"expected a JSON object, got a {_json_type(data)}", eval_id)
    try:
        found_id = _optional_id(data, ("evalId", "id"))
    except TypeError as exc:
        raise _bad(what, f"eval id {exc}", eval_id) from None
    if found_id is None:
        raise _bad(what, "eval object has no evalId", eval_id)
    raw_status = data.get("status")
    if not isinstance(raw_status, str) or not raw_status.strip():
        raise _bad(what, f"eval {one_line(found_id)} has no status string", found_id)
    try:
        project = _optional_id(data, ("project", "projectId"))
        version_id = _optional_id(data, ("versionId",))
        model_id = _optional_id(data, ("modelId",))
    except TypeError as exc:
        raise _bad(what, f"eval {one_line(found_id)}: {exc}", found_id) from None
    try:
        created_at = _parse_timestamp(data.get("createdAt"))
    except (TypeError, ValueError) as exc:
        raise _bad(what, f"eval {one_line(found_id)}: createdAt {exc}", found_id) from None
    return EvalInfo(
        eval_id=found_id,
        status=raw_status.strip().lower(),
        project=project,
        version_id=version_id,
        model_id=model_id,
        created_at=created_at,
        # Read as data: a value that is not a fraction is ignored where it is used.
        summary=summary if isinstance(summary := data.get("summary"), Mapping) else None,
    )


def parse_eval_list(data: Any, *, what: str = "eval list") -> list[EvalInfo]:
    """Read a list response: a JSON list, or an object keeping its list under one of LIST_KEYS.

    Fails closed: any unparsable entry raises BadResponse naming its index.
    """
    entries: list[Any] | None = None
    if isinstance(data, list):
        entries = data
    elif isinstance(data, Mapping):
        for key in LIST_KEYS:
            if isinstance(data.get(key), list):
                entries = data[key]
                break
        if entries is None:
            raise _bad(
                what,
                "JSON object has no list of evals (looked for " + ", ".join(LIST_KEYS) + ")",
                None,
            )
    else:
        raise _bad(what, f"expected a JSON list or object, got a {_json_type(data)}", None)
    result: list[EvalInfo] = []
    for index, entry in enumerate(entries):
        try:
            result.append(parse_eval_info(entry, what=f"entry #{index}"))
        except BadResponse as exc:
            raise _bad(what, str(exc), None) from None
    return result
