"""The one JSON reader for every document we did not write ourselves.

Python's `json.loads` is lenient in ways that can bend a verdict or crash a run:
- a duplicate key is resolved silently (last one wins), so `{"map50": "x", "map50": 0.9}`
  reads as a clean 0.9;
- an integer of more than 4,300 digits raises a bare `ValueError` from deep inside int();
- a document nested 100,000 levels deep raises `RecursionError`;
- bytes that are not UTF-8 raise `UnicodeDecodeError` with no position we can show.

`loads` turns every one of these into a `JSONDocumentError` whose `reason` is one line that
says what and where. Callers map it to their own error (exit 2 for a local file, exit 3 for
an upstream answer, 400 for a request body). Nothing here does I/O.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "JSONDocumentError", "loads"]

MAX_INT_DIGITS = 100
"""No number we read needs more digits than this; longer ones are refused, not converted."""

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; map-results documents use about six."""


class JSONDocumentError(ValueError):
    """A document that is not strict JSON; `reason` is one line saying what and where."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = key if len(key) <= 60 else key[:57] + "..."
            raise JSONDocumentError(f"duplicate key {shown!r} in one object")
        result[key] = value
    return result


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JSONDocumentError(
            f"a number with {digits:,} digits (at most {MAX_INT_DIGITS} are accepted)"
        )
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_INT_DIGITS + 32:
        raise JSONDocumentError(
            f"a number written with {len(text):,} characters (at most "
            f"{MAX_INT_DIGITS + 32} are accepted)"
        )
    return float(text)


def _refuse_constant(name: str) -> float:
    raise JSONDocumentError(f"{name} is not a JSON number; write a finite number or null")


def _depth(data: Any) -> int:
    """Nesting depth of parsed containers, iteratively (never recurses)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def loads(data: bytes | str, *, allow_nan: bool = False, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON: no duplicate keys, bounded numbers and nesting, UTF-8 only.

    `allow_nan=True` keeps `NaN`, `Infinity` and `-Infinity` as floats, for documents whose
    reader marks such values malformed one by one (map-results); otherwise they are refused.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONDocumentError(f"not UTF-8 (invalid byte at offset {exc.start:,})") from None
    else:
        text = data
    text = text.removeprefix("\ufeff")
    try:
        parsed = json.loads(
            text,
            object_pairs_hook=_pairs_without_duplicates,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
            parse_constant=float if allow_nan else _refuse_constant,
        )
    except JSONDocumentError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONDocumentError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise JSONDocumentError(
            f"nested too deeply (at most {max_depth} levels of arrays and objects)"
        ) from None
    except ValueError as exc:  # pragma: no cover - json raises only the above for str input
        raise JSONDocumentError(f"not valid JSON: {exc}") from None
    if _depth(parsed) > max_depth:
        raise JSONDocumentError(
            f"nested too deeply (at most {max_depth} levels of arrays and objects)"
        )
    return parsed
