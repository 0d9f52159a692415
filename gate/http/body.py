"""Reading a response body as JSON, the same way for every API (pure, no I/O).

`json_body` decodes a 2xx body strictly or raises `UnusableBody` saying what is wrong and
whether a retry may help; `error_body` reads an error answer's JSON, or names the kind of
body it was. Each API turns these into its own typed errors and messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gate.core import strict_json
from gate.core.redact import redact_line
from gate.core.strict_json import JSONDocumentError
from gate.http.text import header, human_size, looks_like_html

__all__ = ["DETAIL_MAX", "UnusableBody", "error_body", "json_body", "json_type"]

DETAIL_MAX = 200


class UnusableBody(Exception):
    """A 2xx body we cannot use; `str()` is the problem, without the request's name."""

    def __init__(self, problem: str, *, retryable: bool) -> None:
        super().__init__(problem)
        self.retryable = retryable


def json_body(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    max_body: int,
    allow_nan: bool,
    empty_ok: bool = False,
    fix: str = "check the API URL",
    secrets: Sequence[str] = (),
) -> Any:
    """The decoded JSON of a 2xx body (None for an empty one if `empty_ok`).

    Not JSON at all (cut short, an HTML page) is retryable; complete JSON that strict
    parsing refuses (a duplicate key, a 5,000-digit number, nesting 100,000 deep) is not:
    the same answer would come back, and reading it leniently could bend the verdict.
    `secrets` are masked in the server's text before it is shortened.
    """
    if len(body) > max_body:
        raise UnusableBody(
            f"response larger than {human_size(max_body)}; refusing to parse it", retryable=False
        )
    declared = header(headers, "Content-Length")
    encoding = (header(headers, "Content-Encoding") or "identity").strip().lower()
    if (
        declared is not None
        and encoding == "identity"  # a compressed length says nothing about the decoded body
        and declared.strip().isdigit()
        and len(body) < int(declared)
    ):
        raise UnusableBody(
            f"HTTP {status} body truncated ({len(body)} of {int(declared)} bytes)", retryable=True
        )
    if not body.strip():
        if empty_ok:
            return None
        raise UnusableBody(f"HTTP {status} with an empty body, expected JSON", retryable=True)
    try:
        return strict_json.loads(body, allow_nan=allow_nan)
    except JSONDocumentError as exc:
        html = looks_like_html(headers, body)
        if exc.syntax_error or html:
            kind = "an HTML page" if html else "invalid or truncated JSON"
            raise UnusableBody(
                f"HTTP {status} with {kind}, expected JSON; {fix} if this persists",
                retryable=True,
            ) from None
        raise UnusableBody(
            f"HTTP {status} with malformed JSON "
            f"({redact_line(exc.reason, secrets, limit=DETAIL_MAX)})"
            f"; not retried, since the same answer would come back: {fix}",
            retryable=False,
        ) from None


def error_body(
    headers: Mapping[str, str],
    body: bytes,
    *,
    limit: int = DETAIL_MAX,
    secrets: Sequence[str] = (),
) -> tuple[Any, str | None]:
    """An error answer's decoded JSON and None, or None and what kind of body it was
    instead ("empty body", "non-JSON error page", "non-JSON body: <its first line>", ...);
    the server's text in it has `secrets` masked before it is cut to `limit`."""
    if not body.strip():
        return None, "empty body"
    try:
        return strict_json.loads(body, allow_nan=True), None
    except JSONDocumentError as exc:
        if looks_like_html(headers, body):
            return None, "non-JSON error page"
        if not exc.syntax_error:  # JSON, but refused (e.g. two "error" keys): trust none of it
            return None, "malformed JSON body: " + redact_line(exc.problem, secrets, limit=limit)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None, "non-JSON body"
        return None, "non-JSON body: " + redact_line(text, secrets, limit=limit)


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type ("object", "list", "string", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
