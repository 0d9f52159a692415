"""The Roboflow model-evals endpoints, over `gate.http`'s client.

Only the endpoints live here: paths, the key, and parsing with `gate.roboflow.api`.
Timeouts, the overall deadline, retries, the body cap and scrubbing the key out of every
message are `gate.http.HttpClient`'s; the socket is a `gate.http` transport (aiohttp's,
built from a session, unless a transport is given).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from gate import __version__
from gate.core.errors import UsageError
from gate.core.eval_info import EvalInfo, EvalQuery
from gate.http.client import Errors, Hints, HttpClient, default_transport
from gate.http.retry import RetryPolicy
from gate.http.text import BaseUrl, check_base_url, credential_problem, one_line
from gate.http.transport import RawResponse, Transport
from gate.roboflow.api import (
    DEFAULT_API_URL,
    MAX_BODY_BYTES,
    BadResponse,
    DeadlineExceeded,
    InvalidPanelQuery,
    RoboflowError,
    TransportError,
    confusion_matrix_path,
    eval_path,
    image_predictions_path,
    list_path,
    map_results_path,
    parse_eval_info,
    parse_eval_list,
    parse_panel_response,
    parse_response,
    performance_by_class_path,
)

if TYPE_CHECKING:
    from gate.http.aiohttp_transport import ClientSession

__all__ = ["RoboflowClient"]

T = TypeVar("T")

_DEFAULT_RETRY = RetryPolicy()
_MAX_LIST_LIMIT = 200
_ERRORS = Errors(transport=TransportError, bad_response=BadResponse, deadline=DeadlineExceeded)
_HINTS = Hints(
    service="Roboflow",
    api_url="the API URL",
    timeout="raise --timeout",
    deadline="raise --deadline",
)


def _validate_api_url(api_url: str) -> BaseUrl:
    checked = check_base_url(api_url)
    if isinstance(checked, BaseUrl):
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
    problem = credential_problem(key)
    if problem is not None:
        fix = (
            "paste the key exactly"
            if key
            else "set it to a Roboflow API key with the model-eval:read scope"
        )
        raise UsageError(f"ROBOFLOW_API_KEY {problem}; {fix}")
    return key


class RoboflowClient:
    """Fetches model-eval data from Roboflow (a results source for `gate.fetch`).

    `transport` is a `gate.http.Transport`, or an `aiohttp.ClientSession` to send on.
    """

    def __init__(
        self,
        transport: Transport | ClientSession,
        *,
        api_key: str,
        workspace: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        retry: RetryPolicy = _DEFAULT_RETRY,
        deadline: float | None = None,
        max_body: int = MAX_BODY_BYTES,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rand: Callable[[], float] | None = None,
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
        base = _validate_api_url(api_url)
        self._workspace = workspace.strip()
        self._http = HttpClient(
            default_transport(transport),
            base=base,
            headers={
                "Authorization": f"Bearer {key}",
                "User-Agent": f"eval-gate/{__version__}",
                "Accept": "application/json",
            },
            secrets=(key, api_key),
            errors=_ERRORS,
            hints=_HINTS,
            name="roboflow",
            timeout=timeout,
            retry=retry,
            deadline=deadline,
            max_body=max_body,
            sleep=sleep,
            rand=rand,
        )

    def __repr__(self) -> str:
        http = self._http
        return (
            f"RoboflowClient(api_url={http.base.base!r}, workspace={self._workspace!r}, "
            f"timeout={http.timeout:g}, attempts={http.retry.attempts})"
        )

    # ------------------------------------------------------------------ endpoints

    async def map_results(self, eval_id: str) -> Any:
        """The eval's map-results JSON object (metrics per split), undecoded beyond JSON."""
        _check_id(eval_id)
        what = f"map-results for eval {one_line(eval_id)}"

        def parse(raw: RawResponse) -> Any:
            data = self._decode(raw, what, eval_id)
            if not isinstance(data, dict):
                raise BadResponse(
                    f"{what}: expected a JSON object, got a list", eval_id=eval_id, retryable=False
                )
            return data

        return await self._get(map_results_path(self._workspace, eval_id), what, eval_id, parse)

    async def eval_info(self, eval_id: str) -> EvalInfo:
        """One eval's id, status, project, version, model and creation time."""
        _check_id(eval_id)
        what = f"eval info for eval {one_line(eval_id)}"

        def parse(raw: RawResponse) -> EvalInfo:
            info = parse_eval_info(self._decode(raw, what, eval_id), what=what, eval_id=eval_id)
            if info.eval_id != eval_id:
                raise BadResponse(
                    f"{what}: the server answered with eval {one_line(info.eval_id)} instead",
                    eval_id=eval_id,
                    retryable=False,
                )
            return info

        return await self._get(eval_path(self._workspace, eval_id), what, eval_id, parse)

    def has_info(self, eval_id: str) -> bool:  # noqa: ARG002 - the port's signature
        """The API says what every eval is (its model, dataset version, creation time)."""
        return True

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        """The workspace's evals (newest first, as the server orders them), filtered by at most
        one of project, model and version (the server refuses more)."""
        limit = query.limit
        if not 1 <= limit <= _MAX_LIST_LIMIT:
            raise UsageError(f"the eval list limit must be 1..{_MAX_LIST_LIMIT}, got {limit}")
        what = f"eval list for workspace {one_line(self._workspace)}"
        try:
            path = list_path(self._workspace, query)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if query.model is not None or query.version is not None:
            by = "model" if query.model is not None else "version"
            what += f" of {by} {one_line(query.model or query.version or '')}"

        def parse(raw: RawResponse) -> list[EvalInfo]:
            return parse_eval_list(self._decode(raw, what, None), what=what)

        return await self._get(path, what, None, parse)

    # ------------------------------------------------------------------ panels

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        """The confusion matrix of one split at the eval's canonical confidence threshold:
        its JSON object (`classes`, `matrix[actual][predicted]`, `confidenceThreshold`)."""
        return await self._panel(
            eval_id,
            split,
            f"the confusion matrix of eval {one_line(eval_id)} (split {one_line(split)})",
            lambda: confusion_matrix_path(self._workspace, eval_id, split=split),
        )

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        """Per-class metrics of one split (train, valid or test): its JSON object."""
        return await self._panel(
            eval_id,
            split,
            f"performance-by-class of eval {one_line(eval_id)} (split {one_line(split)})",
            lambda: performance_by_class_path(self._workspace, eval_id, split=split),
        )

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        """One page (`limit` <= 1000 images from `offset`) of per-image predictions of a
        split at the eval's canonical confidence threshold: its JSON object."""
        return await self._panel(
            eval_id,
            split,
            f"image-predictions of eval {one_line(eval_id)} (split {one_line(split)}, "
            f"offset {offset})",
            lambda: image_predictions_path(
                self._workspace, eval_id, split=split, offset=offset, limit=limit
            ),
        )

    async def _panel(
        self, eval_id: str, split: str, what: str, path: Callable[[], str]
    ) -> dict[str, Any]:
        _check_id(eval_id)
        try:
            url = path()
        except ValueError as exc:
            raise InvalidPanelQuery(f"{what}: {exc}", eval_id=eval_id) from None

        def parse(raw: RawResponse) -> dict[str, Any]:
            return parse_panel_response(
                raw.status,
                raw.headers,
                raw.body,
                what=what,
                split=split,
                eval_id=eval_id,
                workspace=self._workspace,
                now=datetime.now(UTC),
                max_body=self._http.max_body,
                secrets=self._http.secrets,
            )

        return await self._get(url, what, eval_id, parse)

    # ------------------------------------------------------------------ machinery

    def _decode(self, raw: RawResponse, what: str, eval_id: str | None) -> Any:
        return parse_response(
            raw.status,
            raw.headers,
            raw.body,
            what=what,
            eval_id=eval_id,
            workspace=self._workspace,
            now=datetime.now(UTC),
            max_body=self._http.max_body,
            secrets=self._http.secrets,
        )

    async def _get(
        self, path: str, what: str, eval_id: str | None, parse: Callable[[RawResponse], T]
    ) -> T:
        try:
            return await self._http.request("GET", self._http.url(path), what=what, parse=parse)
        except RoboflowError as exc:
            if exc.eval_id is None:  # errors the HTTP layer built know no eval
                exc.eval_id = eval_id
            raise
