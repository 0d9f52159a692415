"""The service API's error: an HTTP status, a stable machine-readable code and one line.

Raised wherever the API's language is spoken (the request parser, the answer builder, the
routes) and rendered by the server's error middleware as `{"error": code, "message": ...,
"request_id": ...}`. The durable gates' worker reads the same errors (a request that no longer
validates becomes the gate's error, in the same words).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ApiError"]


class ApiError(Exception):
    """An HTTP error answer: status, a stable machine-readable code and a one-line message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = dict(extra or {})
