"""The one JSON reader for every document we did not write ourselves.

Python's `json.loads` is lenient in ways that can bend a verdict or crash a run:
- a duplicate key is resolved silently (last one wins), so `{"map50": "x", "map50": 0.9}`
  reads as a clean 0.9;
- an integer of more than 4,300 digits raises a bare `ValueError` from deep inside int();
- a document nested 100,000 levels deep raises `RecursionError`;
- bytes that are not UTF-8 raise `UnicodeDecodeError` with no position we can show.

`loads` turns every one of these into a `JSONDocumentError` whose `reason` is one line that
says what and where; each caller turns it into its own error. Nothing here does I/O.

Where: the parser only says *that* a key repeats or a number is too long, not where. When it
refuses a document, a second, iterative pass (`_first_violation`, no recursion, nothing built)
walks the text to the first refused token, so the error carries its line and column. That pass
runs only on the error path.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "JSONDocumentError", "decode_utf8", "loads"]

MAX_INT_DIGITS = 100
"""No number we read needs more digits than this; longer ones are refused, not converted."""

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; map-results documents use about six."""

_MAX_NUMBER_CHARS = MAX_INT_DIGITS + 32  # digits, sign, point and a reasonable exponent
# One token of a JSON text, for the locating pass: whitespace, colons and true/false/null
# (which change nothing it tracks) are skipped as part of the next token's match.
_TOKEN = re.compile(
    r"(?:[ \t\n\r:]+|true|false|null)*"
    r'(?:(?P<string>"[^"\\]*(?:\\.[^"\\]*)*")'
    r"|(?P<open>[{\[])|(?P<close>[}\]])|(?P<comma>,)"
    r"|(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
    r"|(?P<constant>NaN|-?Infinity)|(?P<other>.|$))",
    re.DOTALL,
)


class JSONDocumentError(ValueError):
    """A document that is not strict JSON (or not UTF-8 text).

    `reason`: one line saying what and, when known, where ("... at line 3 column 7").
    `problem`: the same without the position, for callers that print `file:line:column:`.
    `line`, `column`: 1-based position of the offending character, or None.
    `syntax_error`: True when the text is not JSON at all (a cut-short body looks like this);
    False when it is complete JSON that is refused (duplicate key, huge number, too deep...):
    fetching the same document again cannot help.
    """

    def __init__(
        self,
        reason: str,
        *,
        problem: str | None = None,
        line: int | None = None,
        column: int | None = None,
        syntax_error: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem = problem if problem is not None else reason
        self.line = line
        self.column = column
        self.syntax_error = syntax_error


class _Refused(Exception):
    """Raised inside the parser's hooks; located and turned into a JSONDocumentError."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _shown_key(key: str) -> str:
    return repr(key if len(key) <= 60 else key[:57] + "...")


def _duplicate(key: str) -> str:
    return f"duplicate key {_shown_key(key)} in one object"


def _too_deep(max_depth: int) -> str:
    return f"nested too deeply (at most {max_depth} levels of arrays and objects)"


def _number_problem(text: str, *, allow_nan: bool) -> str | None:
    """Why the number written `text` is refused, or None."""
    mantissa = text.lstrip("-").split("e")[0].split("E")[0]
    digits = len(mantissa) - (1 if "." in mantissa else 0)
    if digits > MAX_INT_DIGITS:
        return f"a number with {digits:,} digits (at most {MAX_INT_DIGITS} are accepted)"
    if len(text) > _MAX_NUMBER_CHARS:
        return (
            f"a number written with {len(text):,} characters (at most {_MAX_NUMBER_CHARS} "
            "are accepted)"
        )
    floating = "." in text or "e" in text or "E" in text
    if not allow_nan and floating and not math.isfinite(float(text)):
        return f"the number {text} is too large for a float; write a finite number"
    return None


def _constant_problem(name: str) -> str:
    return f"{name} is not a JSON number; write a finite number or null"


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of `text[index]`."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def _first_violation(text: str, *, allow_nan: bool, max_depth: int) -> tuple[str, int] | None:
    """The first refused token of `text` in document order, and its index; None if there is
    none (or the text stops being JSON first: the parser reports that itself).

    Iterative (one regex scan, no recursion); it keeps only the key sets of the open objects.
    About 2 s for 17 MB of dense JSON, so it runs only once a document has been refused.
    """
    stack: list[set[str] | None] = []  # per open container: its keys so far, or None (array)
    expect_key = False
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "string":
            if expect_key:
                raw = token.group(kind)
                key = raw[1:-1] if "\\" not in raw else json.loads(raw)
                keys = stack[-1]
                assert keys is not None
                if key in keys:
                    return _duplicate(key), token.start(kind)
                keys.add(key)
                expect_key = False
        elif kind == "number":
            raw = token.group(kind)
            if len(raw) > 15 or "e" in raw or "E" in raw:  # others are never refused
                problem = _number_problem(raw, allow_nan=allow_nan)
                if problem is not None:
                    return problem, token.start(kind)
        elif kind == "comma":
            expect_key = bool(stack) and stack[-1] is not None
        elif kind == "open":
            if len(stack) >= max_depth:
                return _too_deep(max_depth), token.start(kind)
            expect_key = token.group(kind) == "{"
            stack.append(set() if expect_key else None)
        elif kind == "close":
            if not stack:
                return None
            stack.pop()
            expect_key = False
        elif kind == "constant":
            if not allow_nan:
                return _constant_problem(token.group(kind)), token.start(kind)
        else:  # the end, or something that is not JSON
            return None
    return None  # pragma: no cover - the last token is always the end


def _located(problem: str, text: str, *, allow_nan: bool, max_depth: int) -> JSONDocumentError:
    found = _first_violation(text, allow_nan=allow_nan, max_depth=max_depth)
    if found is None:  # pragma: no cover - the pass finds whatever the parser refused
        return JSONDocumentError(problem)
    problem, index = found
    line, column = _position(text, index)
    return JSONDocumentError(
        f"{problem} at line {line} column {column}", problem=problem, line=line, column=column
    )


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(_duplicate(key))
        result[key] = value
    return result


def _depth(data: Any, limit: int) -> int:
    """Nesting depth of parsed containers, iteratively (never recurses); stops past `limit`."""
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
        if level > limit:
            return level
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def decode_utf8(data: bytes | bytearray) -> str:
    """`data` as text (a leading byte-order mark kept); JSONDocumentError saying where the
    first byte that is not UTF-8 is (line, column and byte offset) otherwise."""
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        before = bytes(data[: exc.start]).decode("utf-8")  # valid up to the bad byte
        line, column = _position(before, len(before))
        bad = data[exc.start]
        where = f"byte 0x{bad:02X} at byte offset {exc.start:,}"
        # A multi-byte character cut by the end of the data: the body may be truncated.
        cut = exc.end == len(data) and "end of data" in str(exc.reason)
        raise JSONDocumentError(
            f"not UTF-8 at line {line} column {column} ({where})",
            problem=f"not UTF-8 ({where})",
            line=line,
            column=column,
            syntax_error=cut,
        ) from None


def loads(data: bytes | str, *, allow_nan: bool = False, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON: no duplicate keys, bounded numbers and nesting, UTF-8 only.

    `allow_nan=True` keeps `NaN`, `Infinity` and `-Infinity` (and numbers too large for a
    float, read as infinity) as floats, for documents whose reader marks such values
    malformed one by one (map-results); otherwise they are refused.
    """
    text = decode_utf8(data) if isinstance(data, bytes | bytearray) else data
    text = text.removeprefix("\ufeff")

    def number(raw: str) -> float:
        problem = _number_problem(raw, allow_nan=allow_nan)
        if problem is not None:
            raise _Refused(problem)
        return float(raw)

    def integer(raw: str) -> int:
        problem = _number_problem(raw, allow_nan=allow_nan)
        if problem is not None:
            raise _Refused(problem)
        return int(raw)

    def constant(name: str) -> float:
        if not allow_nan:
            raise _Refused(_constant_problem(name))
        return float(name)

    try:
        parsed = json.loads(
            text,
            object_pairs_hook=_pairs_without_duplicates,
            parse_int=integer,
            parse_float=number,
            parse_constant=constant,
        )
    except _Refused as exc:
        raise _located(exc.problem, text, allow_nan=allow_nan, max_depth=max_depth) from None
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg}"
        raise JSONDocumentError(
            f"{problem} at line {exc.lineno} column {exc.colno}",
            problem=problem,
            line=exc.lineno,
            column=exc.colno,
            syntax_error=True,
        ) from None
    except RecursionError:
        raise _located(
            _too_deep(max_depth), text, allow_nan=allow_nan, max_depth=max_depth
        ) from None
    except ValueError as exc:  # pragma: no cover - json raises only the above for str input
        raise JSONDocumentError(f"not valid JSON: {exc}", syntax_error=True) from None
    if _depth(parsed, max_depth) > max_depth:
        raise _located(_too_deep(max_depth), text, allow_nan=allow_nan, max_depth=max_depth)
    return parsed
