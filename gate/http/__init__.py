"""One HTTP stack for the API clients (Roboflow, GitHub): a transport interface, the shared
client logic over it (retries, deadline, body cap, secret scrubbing, paging), the error
base, and a mock transport for tests. aiohttp lives only in `gate.http.aiohttp_transport`,
which this package does not import: an offline run never loads it.
"""

from __future__ import annotations

from gate.http.body import UnusableBody, error_body, json_body, json_type
from gate.http.client import Errors, Hints, HttpClient, default_transport
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
