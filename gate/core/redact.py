"""Keep secrets out of text: redaction, the one way text is shortened, a structlog processor.

`redact` masks every secret with `***`: the whole secret and its percent-encoded forms, and
also any run of text that shares `FRAGMENT` (8) or more consecutive characters with one of
them. A secret cut short (a server's error text cut to 200 characters, a body capped in
bytes, an echo of half a key) is masked as surely as a whole one: no 8 characters of a secret
in a row survive. `redact_line` is the one function that shortens text that may hold a
secret: it masks first, then makes the text one line and cuts it. `redacting_processor`
returns a structlog processor that applies `redact` to every string in an event dict,
recursively, including the `event` itself and any exception text.

Finding fragments costs one C-speed `str.find` pass over the text per 4-character block of
each secret taken every 5 characters (every run of 8 characters of a secret holds one), then a
short extension around each hit: linear in the text, and bounded by the secrets' lengths.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from gate.core.text import one_line

__all__ = [
    "FRAGMENT",
    "MASK",
    "MIN_SECRET_LENGTH",
    "Redactor",
    "redact",
    "redact_line",
    "redacting_processor",
    "redactor",
]

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter "secrets" would mask innocent text everywhere
FRAGMENT = 8  # this many characters of a secret in a row are masked wherever they appear
# Every run of FRAGMENT characters of a secret holds one of its blocks of _BLOCK characters
# starting at a multiple of _STRIDE (any _STRIDE consecutive offsets hold such a multiple).
_BLOCK = 4
_STRIDE = FRAGMENT - _BLOCK + 1
MAX_SECRET_FORM = 4096  # fragments are looked for in this much of a secret (a key is ~40)

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


@dataclass(frozen=True, slots=True)
class Redactor:
    """Masks a fixed set of secrets in text (build it once, apply it to many strings)."""

    whole: tuple[str, ...]  # forms under FRAGMENT (or over MAX_SECRET_FORM): masked whole
    blocks: dict[str, tuple[tuple[str, int], ...]]  # aligned block -> (form, offset) of each

    @classmethod
    def of(cls, secrets: Iterable[str]) -> Redactor:
        forms = _forms(secrets)
        blocks: dict[str, list[tuple[str, int]]] = {}
        for form in forms:
            if len(form) < FRAGMENT:
                continue
            head = form[:MAX_SECRET_FORM]
            for offset in range(0, len(head) - _BLOCK + 1, _STRIDE):
                blocks.setdefault(head[offset : offset + _BLOCK], []).append((head, offset))
        whole = tuple(f for f in forms if len(f) < FRAGMENT or len(f) > MAX_SECRET_FORM)
        return cls(whole, {block: tuple(where) for block, where in blocks.items()})

    def __bool__(self) -> bool:
        return bool(self.whole or self.blocks)

    def __call__(self, text: str) -> str:
        """`text` with every run sharing FRAGMENT+ characters with a secret replaced by `***`,
        and every shorter secret (4 to 7 characters) replaced where it appears whole."""
        spans = self._spans(text)
        if spans:
            text = _masked(text, spans)
        for form in self.whole:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Where runs of FRAGMENT+ characters of a secret's form are in `text` (unsorted)."""
        spans: list[tuple[int, int]] = []
        for block, where in self.blocks.items():
            at = text.find(block)
            while at >= 0:
                for form, offset in where:
                    span = _common_run(text, at, form, offset)
                    if span is not None:
                        spans.append(span)
                at = text.find(block, at + 1)
        return spans


def _common_run(text: str, at: int, form: str, offset: int) -> tuple[int, int] | None:
    """The longest run of `text` around `text[at:at+_BLOCK]` equal to `form` around
    `form[offset:offset+_BLOCK]`, if it is FRAGMENT characters or more."""
    left = 0
    most = min(at, offset)
    while left < most and text[at - left - 1] == form[offset - left - 1]:
        left += 1
    start, end = at - left, at + _BLOCK
    right = 0
    most = min(len(text) - end, len(form) - offset - _BLOCK)
    while right < most and text[end + right] == form[offset + _BLOCK + right]:
        right += 1
    end += right
    return (start, end) if end - start >= FRAGMENT else None


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each run of overlapping or touching spans replaced by one MASK."""
    spans.sort()
    parts: list[str] = []
    kept = 0  # text[:kept] is done
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start <= end:
            end = max(end, next_end)
            continue
        parts += (text[kept:start], MASK)
        kept = end
        start, end = next_start, next_end
    parts += (text[kept:start], MASK, text[end:])
    return "".join(parts)


@functools.lru_cache(maxsize=64)
def _redactor(secrets: tuple[str, ...]) -> Redactor:
    return Redactor.of(secrets)


def redactor(secrets: Iterable[str]) -> Redactor:
    """The (cached) Redactor for `secrets`."""
    return _redactor(tuple(s for s in secrets if isinstance(s, str)))


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret of 4+ characters (and its percent-encoding), and every run of
    8+ characters of one, replaced by `***`."""
    return redactor(secrets)(text)


def redact_line(text: str, secrets: Iterable[str], *, limit: int | None = None) -> str:
    """Text that may hold a secret, as one line of at most `limit` characters: the secrets are
    masked first, then the line is cut (never the other way round, which leaves the start of
    a secret that straddles the cut)."""
    return one_line(redact(text, secrets), limit=limit)


def _redact_value(value: Any, mask: Redactor) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {_redact_value(k, mask): _redact_value(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, mask) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(v, mask) for v in value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", errors="replace")
        redacted = mask(text)
        return redacted if redacted != text else value
    # Anything else (URLs, exceptions, custom objects) is rendered later by the renderer;
    # replace it by its redacted text only if that text would leak a secret.
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break logging
        return value
    redacted = mask(text)
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
    mask = redactor(secrets)

    def processor(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        del logger, method_name
        if not mask:
            return event_dict
        if "exc_info" in event_dict:
            text = _exception_text(event_dict.pop("exc_info"))
            if text is not None:
                event_dict["exception"] = text
        for key in list(event_dict):
            value = event_dict.pop(key)
            event_dict[_redact_value(key, mask)] = _redact_value(value, mask)
        return event_dict

    return processor
