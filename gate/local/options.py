"""Settings declared once: a face lists its options as `Option`s, and everything else is
derived from that list: the reader that collects every problem before raising one error, the
help text, and the docs' tables (`markdown_table`, rewritten by `python tools/docs_tables.py`
and checked by tests/docs/test_docs_tables.py).

An option's converter takes the raw text (stripped, never empty) and returns the value, or
raises `ValueError` with what is wrong, without the option's name ("must be true or false,
got 'maybe'"): the reader puts the name in front. An option may also declare its bounds
(`check`, on the converted value), for callers that hand values over already typed.
Pure: no environment is read here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Option", "Read", "markdown_cell", "markdown_table", "read_options"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Option(Generic[T]):
    """One setting of a face: how it is spelt, read and documented."""

    name: str  # as the user writes it: `--timeout`, `wait`, `EVAL_GATE_GRACE`
    field: str  # the attribute it sets on the face's settings object
    convert: Callable[[str], T]
    default: T  # when not given (or, after a problem, so the reader can go on)
    help: str  # one line: the --help text and the docs' "meaning" column
    shown_default: str = ""  # the default in the docs; "" = `default` in code style
    metavar: str = ""  # the value's placeholder in the docs and --help (`PATH`, `S`)
    also: str = ""  # another spelling: the flag of an environment variable, `-q`
    group: str = ""  # where --help lists it
    check: Callable[[T], str | None] | None = None  # bounds: what is wrong with a value, or None
    action: str = "store"  # on a command line: "store", "append" (repeatable) or "store_true"

    def problem(self, value: T) -> str | None:
        """What is wrong with an already converted `value` (its bounds), name first; or None."""
        if self.check is None:
            return None
        problem = self.check(value)
        return None if problem is None else f"{self.name} {problem}"

    def shown(self) -> str:
        if self.shown_default:
            return self.shown_default
        return "—" if self.default in (None, "", ()) else f"`{self.default}`"


@dataclass(frozen=True, slots=True)
class Read:
    """What `read_options` found: each option's value by field, and every problem (one line
    each, the option's name first)."""

    values: Mapping[str, Any]
    problems: tuple[str, ...]

    def __getitem__(self, field: str) -> Any:
        return self.values[field]


def read_options(
    options: Iterable[Option[Any]], get: Callable[[str], str | None], *, prefix: str = ""
) -> Read:
    """Each option's value from `get(name)` (None: not given), converted; a problem is noted
    (`prefix` + name + what is wrong) and the default used, so every problem is found in one
    pass."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for option in options:
        raw = get(option.name)
        if raw is None:
            values[option.field] = option.default
            continue
        try:
            value = option.convert(raw)
        except ValueError as error:
            problem: str | None = f"{prefix}{option.name} {error}"
        else:
            bound = option.problem(value)
            problem = None if bound is None else prefix + bound
        if problem is not None:
            problems.append(problem)
            value = option.default
        values[option.field] = value
    return Read(values, tuple(problems))


def markdown_cell(text: str) -> str:
    """`text` for a Markdown table cell: `|` escaped, one line."""
    return " ".join(text.replace("|", "\\|").split())


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub Markdown table, one line a row, ending with a newline."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"
