"""The error base every HTTP API client raises, and the failure a transport reports.

Exception
├── HttpError            an API request did not give usable data (one line, secret-free)
│   ├── RoboflowError    (also a gate.core.errors.ResultsUnavailable) and its kinds
│   └── GitHubError      (deliberately not a GateError) and its kinds
└── TransportFailure     raised by a Transport: no (complete) HTTP answer; the client
                         turns it into its API's transport error
"""

from __future__ import annotations

__all__ = ["HttpError", "TransportFailure"]


class HttpError(Exception):
    """An API request did not give usable data. `str()` (and `message`) is one line.

    `status` is the HTTP status if there was one; `retry_after` the server's hint in
    seconds; `retryable` whether trying again may help (class default, per-instance
    override). `rate_limit` marks the server asking us to wait `retry_after`: a client
    with a rate-limit budget waits that out without using up a retry.
    """

    retryable: bool = False
    rate_limit: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable

    @property
    def message(self) -> str:
        """The one-line message (the same text as `str(error)`)."""
        return str(self.args[0]) if self.args else ""


class TransportFailure(Exception):
    """No (complete) HTTP answer. Built from the error's kind, never from its text (which
    carries URLs): `reason` is a short phrase, `kind` the underlying exception's class name.
    `never_sent` says the request cannot have reached the server (safe to retry a POST).
    Timeouts are not TransportFailures: the client enforces them around `send`."""

    def __init__(
        self, reason: str, *, kind: str = "", retryable: bool = True, never_sent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind or type(self).__name__
        self.retryable = retryable
        self.never_sent = never_sent
