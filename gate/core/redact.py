"""Keep secrets out of text: plain redaction and a structlog processor.

`redact` replaces each secret (and its percent-encoded forms) with `***`.
`redacting_processor` returns a structlog processor that applies it to every string in an
event dict, recursively, including the `event` itself and any exception text.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter "secrets" would mask innocent text everywhere

EventDict = MutableMapping[str, Any]
Processor = Callable[[Any, str, EventDict], EventDict]


def _forms(secrets: Iterable[str]) -> list[str]:
    forms: set[str] = set()
    for secret in secrets:
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            continue
        forms.update((secret, quote(secret, safe=""), quote_plus(secret, safe="")))
    # Longest first, so a secret containing another is masked whole.
    return sorted(forms, key=len, reverse=True)


def _apply(text: str, forms: Sequence[str]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret of 4+ characters (and its percent-encoding) replaced by `***`."""
    return _apply(text, _forms(secrets))


def _redact_value(value: Any, forms: Sequence[str]) -> Any:
    if isinstance(value, str):
        return _apply(value, forms)
    if isinstance(value, dict):
        return {_redact_value(k, forms): _redact_value(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, forms) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(v, forms) for v in value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", errors="replace")
        redacted = _apply(text, forms)
        return redacted if redacted != text else value
    # Anything else (URLs, exceptions, custom objects) is rendered later by the renderer;
    # replace it by its redacted text only if that text would leak a secret.
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break logging
        return value
    redacted = _apply(text, forms)
    return redacted if redacted != text else value


def _exception_text(exc_info: Any) -> str | None:
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        return "".join(traceback.format_exception(exc_info))
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and exc_info[1] is not None:
        return "".join(traceback.format_exception(*exc_info))
    return None


def redacting_processor(secrets: Sequence[str]) -> Processor:
    """A structlog processor masking `secrets` in every string of the event dict.

    An `exc_info` entry is rendered to text here (as structlog's `format_exc_info` would)
    and stored redacted under `exception`, since the traceback text may quote the secret.
    """
    forms = _forms(secrets)

    def processor(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        del logger, method_name
        if not forms:
            return event_dict
        if "exc_info" in event_dict:
            text = _exception_text(event_dict.pop("exc_info"))
            if text is not None:
                event_dict["exception"] = text
        for key in list(event_dict):
            value = event_dict.pop(key)
            event_dict[_redact_value(key, forms)] = _redact_value(value, forms)
        return event_dict

    return processor
