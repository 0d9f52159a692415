"""One HTTP stack for the API clients (Roboflow, GitHub): a transport interface, the shared
client logic over it (retries, deadline, body cap, secret scrubbing, paging), the error
base, and a mock transport for tests. aiohttp lives only in `gate.http.aiohttp_transport`,
which this package does not import: an offline run never loads it. Names load on first use
(PEP 562), so `gate.http.text` alone stays cheap for the offline path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BaseUrl": "gate.http.text",
    "Errors": "gate.http.client",
    "Hints": "gate.http.client",
    "HttpClient": "gate.http.client",
    "HttpError": "gate.http.errors",
    "MockTransport": "gate.http.mock",
    "RateLimits": "gate.http.retry",
    "RawResponse": "gate.http.transport",
    "Request": "gate.http.transport",
    "RetryPolicy": "gate.http.retry",
    "Transport": "gate.http.transport",
    "TransportFailure": "gate.http.errors",
    "UnusableBody": "gate.http.body",
    "Wait": "gate.http.client",
    "check_base_url": "gate.http.text",
    "default_transport": "gate.http.client",
    "error_body": "gate.http.body",
    "header": "gate.http.text",
    "human_size": "gate.http.text",
    "json_body": "gate.http.body",
    "json_type": "gate.http.body",
    "looks_like_html": "gate.http.text",
    "next_page_url": "gate.http.text",
    "one_line": "gate.http.text",
    "parse_retry_after": "gate.http.text",
    "sleepless": "gate.http.retry",
}

__all__ = [
    "BaseUrl",
    "Errors",
    "Hints",
    "HttpClient",
    "HttpError",
    "MockTransport",
    "RateLimits",
    "RawResponse",
    "Request",
    "RetryPolicy",
    "Transport",
    "TransportFailure",
    "UnusableBody",
    "Wait",
    "check_base_url",
    "default_transport",
    "error_body",
    "header",
    "human_size",
    "json_body",
    "json_type",
    "looks_like_html",
    "next_page_url",
    "one_line",
    "parse_retry_after",
    "sleepless",
]

if TYPE_CHECKING:
    from gate.http.body import UnusableBody, error_body, json_body, json_type
    from gate.http.client import Errors, Hints, HttpClient, Wait, default_transport
    from gate.http.errors import HttpError, TransportFailure
    from gate.http.mock import MockTransport
    from gate.http.retry import RateLimits, RetryPolicy, sleepless
    from gate.http.text import (
        BaseUrl,
        check_base_url,
        header,
        human_size,
        looks_like_html,
        next_page_url,
        one_line,
        parse_retry_after,
    )
    from gate.http.transport import RawResponse, Request, Transport


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
