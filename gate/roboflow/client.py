"""aiohttp transport for the Roboflow model-evals API.

Owns the socket side only: the URL, headers, per-request timeouts, the overall deadline,
bounded retries with backoff, and a cap on body size. Decoding and error mapping live
in the sans-I/O `gate.roboflow.api`. The API key travels only in the Authorization
header and is scrubbed from every message this module builds or passes on.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import structlog
from yarl import URL

from gate import __version__
from gate.core.errors import UsageError
from gate.core.redact import redact
from gate.http.body import check_base_url, describe_transport_error, read_capped
from gate.http.retry import RetryPolicy
from gate.roboflow.api import (
    DEFAULT_API_URL,
    MAX_BODY_BYTES,
    BadResponse,
    DeadlineExceeded,
    EvalInfo,
    RoboflowError,
    TransportError,
    eval_path,
    human_size,
    list_path,
    map_results_path,
    one_line,
    parse_eval_info,
    parse_eval_list,
    parse_response,
)

__all__ = ["RoboflowClient"]

_DEFAULT_RETRY = RetryPolicy()
_ERROR_BODY_LIMIT = 64 * 1024  # an error page is read only this far, for its message
_DECODE_ON_LOOP_MAX = 256 * 1024  # bytes; larger answers are decoded on a worker thread
_MAX_LIST_LIMIT = 200


def _validate_api_url(api_url: str) -> URL:
    checked = check_base_url(api_url)
    if isinstance(checked, URL):
        return checked
    raise UsageError(
        f"Roboflow API URL: {checked}; use e.g. {DEFAULT_API_URL} "
        "(and pass the key in ROBOFLOW_API_KEY, never in the URL)"
    )


def _check_id(eval_id: str) -> None:
    if not eval_id.strip() or eval_id in (".", ".."):
        raise UsageError(
            f"eval id {one_line(eval_id, limit=80)!r} is not valid; pass the id shown in "
            "Roboflow's model evaluation page"
        )


def _validate_key(api_key: str) -> str:
    key = api_key.strip()
    if not key:
        raise UsageError(
            "ROBOFLOW_API_KEY is empty; set it to a Roboflow API key with the model-eval:read scope"
        )
    if not key.isascii() or not key.isprintable() or any(ch.isspace() for ch in key):
        raise UsageError(
            "ROBOFLOW_API_KEY contains spaces or non-ASCII characters; paste the key exactly"
        )
    return key


class RoboflowClient:
    """Fetches model-eval data from Roboflow with timeouts, retries and a deadline."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_key: str,
        workspace: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        retry: RetryPolicy = _DEFAULT_RETRY,
        deadline: float | None = None,
        max_body: int = MAX_BODY_BYTES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        key = _validate_key(api_key)
        if not workspace.strip() or workspace.strip() in (".", ".."):
            raise UsageError(
                "the Roboflow workspace is empty or invalid; pass the workspace's URL name"
            )
        if not timeout > 0:
            raise UsageError(f"the request timeout must be > 0 seconds, got {timeout}")
        if max_body < 1:
            raise UsageError(f"the response size cap must be >= 1 byte, got {max_body}")
        url = _validate_api_url(api_url)
        self._session = session
        self._secrets: tuple[str, ...] = (key, api_key)
        self._headers = {
            "Authorization": f"Bearer {key}",
            "User-Agent": f"eval-gate/{__version__}",
            "Accept": "application/json",
        }
        self._workspace = workspace.strip()
        self._base = f"{url.scheme}://{url.raw_authority}{url.raw_path.rstrip('/')}"
        self._host = url.raw_authority
        self._timeout = float(timeout)
        self._retry = retry
        self._deadline = deadline
        self._deadline_span: float | None = None
        if deadline is not None:
            try:
                self._deadline_span = deadline - asyncio.get_running_loop().time()
            except RuntimeError:  # built outside a running loop: the message omits the span
                self._deadline_span = None
        self._max_body = max_body
        self._sleep = sleep
        self._rand = rand
        self._log = structlog.get_logger("gate.roboflow.client")

    def __repr__(self) -> str:
        return (
            f"RoboflowClient(api_url={self._base!r}, workspace={self._workspace!r}, "
            f"timeout={self._timeout:g}, attempts={self._retry.attempts})"
        )

    # ------------------------------------------------------------------ endpoints

    async def map_results(self, eval_id: str) -> Any:
        """The eval's map-results JSON object (metrics per split), undecoded beyond JSON."""
        _check_id(eval_id)
        what = f"map-results for eval {one_line(eval_id)}"
        data = await self._get_json(
            map_results_path(self._workspace, eval_id), what=what, eval_id=eval_id
        )
        if not isinstance(data, dict):
            raise self._scrub(
                BadResponse(
                    f"{what}: expected a JSON object, got a list", eval_id=eval_id, retryable=False
                )
            )
        return data

    async def eval_info(self, eval_id: str) -> EvalInfo:
        """One eval's id, status, project, version, model and creation time."""
        _check_id(eval_id)
        what = f"eval info for eval {one_line(eval_id)}"
        data = await self._get_json(eval_path(self._workspace, eval_id), what=what, eval_id=eval_id)
        try:
            info = parse_eval_info(data, what=what, eval_id=eval_id)
        except RoboflowError as exc:
            raise self._scrub(exc) from None
        if info.eval_id != eval_id:
            raise self._scrub(
                BadResponse(
                    f"{what}: the server answered with eval {one_line(info.eval_id)} instead",
                    eval_id=eval_id,
                    retryable=False,
                )
            )
        return info

    async def list_evals(
        self, *, project: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[EvalInfo]:
        """The workspace's evals (newest first, as the server orders them), optionally filtered."""
        if not 1 <= limit <= _MAX_LIST_LIMIT:
            raise UsageError(f"the eval list limit must be 1..{_MAX_LIST_LIMIT}, got {limit}")
        what = f"eval list for workspace {one_line(self._workspace)}"
        path = list_path(self._workspace, project=project, status=status, limit=limit)
        data = await self._get_json(path, what=what, eval_id=None)
        try:
            return parse_eval_list(data, what=what)
        except RoboflowError as exc:
            raise self._scrub(exc) from None

    # ------------------------------------------------------------------ machinery

    def _scrub(self, exc: RoboflowError) -> RoboflowError:
        """Make sure the key (even if a server echoed it) is not in the message."""
        exc.args = (redact(str(exc), self._secrets),)
        return exc

    def _deadline_error(
        self, what: str, eval_id: str | None, last: RoboflowError | None
    ) -> DeadlineExceeded:
        span = f" of {round(self._deadline_span, 2):g} s" if self._deadline_span is not None else ""
        cause = ""
        if last is not None:
            text = str(last)
            cause = f" (last error: {text.removeprefix(what + ': ')})"
        return DeadlineExceeded(
            f"{what}: overall deadline{span} reached before a usable response{cause}; "
            "raise --deadline",
            eval_id=eval_id,
        )

    async def _get_json(self, path: str, *, what: str, eval_id: str | None) -> Any:
        loop = asyncio.get_running_loop()
        url = URL(self._base + path, encoded=True)
        last: RoboflowError | None = None
        for attempt in range(1, self._retry.attempts + 1):
            timeout = self._timeout
            if self._deadline is not None:
                left = self._deadline - loop.time()
                if left <= 0:
                    raise self._scrub(self._deadline_error(what, eval_id, last)) from last
                timeout = min(timeout, left)
            try:
                return await self._attempt(url, timeout, what=what, eval_id=eval_id)
            except RoboflowError as exc:
                self._scrub(exc)
                if not exc.retryable or attempt >= self._retry.attempts:
                    raise
                last = exc
            delay = self._retry.delay(attempt, retry_after=last.retry_after, rand=self._rand)
            if self._deadline is not None and loop.time() + delay >= self._deadline:
                raise last
            self._log.warning(
                "roboflow.retry",
                what=what,
                attempt=attempt,
                delay=round(delay, 3),
                reason=str(last),
            )
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def _attempt(self, url: URL, budget: float, *, what: str, eval_id: str | None) -> Any:
        try:
            async with (
                asyncio.timeout(budget),
                self._session.get(
                    url,
                    headers=self._headers,
                    allow_redirects=False,
                    raise_for_status=False,
                    timeout=aiohttp.ClientTimeout(total=budget),
                ) as resp,
            ):
                status = resp.status
                headers = resp.headers
                success = 200 <= status < 300
                declared = resp.content_length
                if success and declared is not None and declared > self._max_body:
                    raise self._too_large(what, eval_id, status)
                limit = self._max_body if success else _ERROR_BODY_LIMIT
                body, over = await read_capped(resp, limit)
                if over and success:
                    raise self._too_large(what, eval_id, status)
        except RoboflowError:
            raise
        except TimeoutError:
            hint = "raise --deadline" if budget < self._timeout else "raise --timeout"
            raise TransportError(
                f"{what}: no complete response from {self._host} within {budget:.3g} s "
                f"(timeout); check the network or {hint}",
                eval_id=eval_id,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise self._transport_error(exc, what, eval_id) from None
        parse = functools.partial(
            parse_response,
            status,
            headers,
            body,
            what=what,
            eval_id=eval_id,
            workspace=self._workspace,
            now=datetime.now(UTC),
            max_body=self._max_body,
        )
        try:
            if len(body) <= _DECODE_ON_LOOP_MAX:
                return parse()
            # A big answer takes about 0.1 s a MB to decode: not on the event loop, where a
            # server answers /healthz and other clients meanwhile.
            return await asyncio.to_thread(parse)
        except RoboflowError as exc:
            raise self._scrub(exc) from None

    def _too_large(self, what: str, eval_id: str | None, status: int) -> BadResponse:
        return BadResponse(
            f"{what}: HTTP {status} response larger than {human_size(self._max_body)}; refusing it",
            eval_id=eval_id,
            status=status,
            retryable=False,
        )

    def _transport_error(self, exc: BaseException, what: str, eval_id: str | None) -> RoboflowError:
        """A message built from the error's kind, never from its text (which carries URLs)."""
        failure = describe_transport_error(exc)
        message = (
            f"{what}: {failure.reason} talking to {self._host} ({type(exc).__name__}); "
            "check the network and the API URL"
        )
        return self._scrub(TransportError(message, eval_id=eval_id, retryable=failure.retryable))
