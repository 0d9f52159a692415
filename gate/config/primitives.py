"""The validator's primitives: collecting problems, reading a mapping by its section's table,
and reading each kind of value (text, flags, counts, levels, ids, choices, thresholds, lists
of splits and names), each reporting its own problems at the value's location.

`Checker` holds them; the rules (`gate.config.rules`) and the validator of the whole config
(`gate.config.loader`) build on it. Every reader returns None for a value it refused, having
reported why: what is wrong, what was written, and a fix when one can be guessed (`did you
mean 0.7?`, `remove the quotes`).
"""

from __future__ import annotations

import difflib
import functools
import heapq
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gate.config.fields import Field, Section
from gate.config.kinds import THRESHOLD_MAX
from gate.config.nodes import Node, as_written, short
from gate.core.errors import MAX_PROBLEMS, Problem
from gate.core.metrics import SPLITS, MetricSpec
from gate.core.model import ALL, EvalSpec, Location, Rule, ThresholdKind

__all__ = ["Checker", "Fields"]

Fields = dict[str, tuple[Node, Node]]  # key name -> (key node, value node)

_MAX_MESSAGE = 500  # characters of one problem's message


@dataclass(frozen=True, slots=True)
class _Kept:
    """A problem kept for showing; `order` is (-line, -column, -number): a min-heap of these
    has the problem that comes last in the document on top."""

    order: tuple[int, int, int]
    path: str
    message: str | Callable[[], str]

    def __lt__(self, other: _Kept) -> bool:
        return self.order < other.order


class Checker(ABC):
    """Collects every problem found, and reads values, each reporting its own problems.

    A field's kind reads its value through a checker (`gate.config.kinds.Reader`); the
    structure's readers it may ask for (a metric, the rules, the evals) are the subclasses'.
    """

    def __init__(self, source: str, *, by_path: bool) -> None:
        self.source = source
        self.by_path = by_path
        self.problems = 0  # how many were found
        # Only the problems that will be shown are kept: the first MAX_PROBLEMS in document
        # order (YAML: line, column; data: the walk's order), in a heap whose top is the last
        # of them. A message may be a function, called only for those: a did-you-mean costs a
        # difflib search, and a megabyte of invalid rules holds hundreds of thousands of
        # problems, of which 50 are shown.
        self._kept: list[_Kept] = []

    # -- reporting

    def report(self, node: Node, message: str | Callable[[], str]) -> None:
        self.problems += 1
        line, column = (0, 0) if self.by_path else (node.line or 0, node.column or 0)
        entry = _Kept((-line, -column, -self.problems), node.path, message)
        if len(self._kept) < MAX_PROBLEMS:
            heapq.heappush(self._kept, entry)
        elif entry.order > self._kept[0].order:  # earlier than the last one kept
            heapq.heapreplace(self._kept, entry)

    def shown(self) -> list[Problem]:
        """The problems kept for showing, in document order, each message made and bounded."""
        shown = []
        for entry in sorted(self._kept, key=lambda kept: kept.order, reverse=True):
            text = entry.message if isinstance(entry.message, str) else entry.message()
            if len(text) > _MAX_MESSAGE:  # a name quoted from a megabyte-long scalar
                text = text[: _MAX_MESSAGE - 1] + "…"
            line, column = -entry.order[0], -entry.order[1]
            if self.by_path:
                shown.append(Problem(f"{entry.path}: {text}" if entry.path else text, self.source))
            else:
                shown.append(Problem(text, self.source, line or None, column or None))
        return shown

    def location(self, node: Node) -> Location:
        return Location(self.source, node.line, node.column)

    def locations(self, fields: Fields) -> tuple[tuple[str, Location], ...]:
        """Where each present key of a mapping is written (its key's location)."""
        return tuple((name, self.location(key)) for name, (key, _) in fields.items())

    @staticmethod
    def where(node: Node) -> str:
        """Where `node` is, for "first at ..." in messages."""
        return f"line {node.line}" if node.line is not None else node.path

    # -- the structure: the subclasses'

    @abstractmethod
    def metric(self, node: Node, name: str | None = None) -> MetricSpec | None: ...

    @abstractmethod
    def rules(self, node: Node) -> tuple[Rule, ...]: ...

    @abstractmethod
    def evals(self, node: Node) -> tuple[EvalSpec, ...]: ...

    # -- mappings

    def record(self, node: Node, section: Section) -> tuple[dict[str, Any], Fields]:
        """A mapping read by its section's table: each field's value (None when it was refused,
        the field's default when it is absent), and the fields present; every problem reported
        (unknown keys, missing required fields, each value's own problems)."""
        fields = self.fields(node, section)
        return self.read(node, fields, section.fields), fields

    def read(self, node: Node, fields: Fields, table: Iterable[Field]) -> dict[str, Any]:
        """The values of `table`'s fields in `node` (whose present fields are `fields`)."""
        values: dict[str, Any] = {}
        for field in table:
            present = fields.get(field.name)
            if present is not None:
                values[field.name] = field.kind.read(self, present[1], field.name)
                continue
            if field.required:
                self.report(node, field.required)
            values[field.name] = field.when_missing
        return values

    def fields(self, node: Node, section: Section) -> Fields:
        """A mapping's known keys; reports unknown, duplicate and non-name keys."""
        allowed, what = section.keys, section.what
        out: Fields = {}
        for key, value in node.entries():
            name = key.key_name()
            if name is None:
                self.report(key, f"keys must be plain names, got {key.describe()}")
            elif name == "<<":
                self.report(key, "YAML merge keys (<<) are not supported: write the keys out")
            elif name in out:
                first = out[name][0]
                self.report(key, f"duplicate key {name!r} (first at {self.where(first)})")
            elif name not in allowed:
                self.report(key, functools.partial(_unknown_key, name, what, allowed))
            else:
                out[name] = (key, value)
        return out

    # -- scalars

    def version(self, node: Node) -> int | None:
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, int) and not isinstance(value, bool):
            if value == 1:
                return 1
            self.report(node, f"unsupported version {value}: this eval-gate reads `version: 1`")
            return None
        hint = "; remove the quotes" if isinstance(value, str) and value.strip() == "1" else ""
        self.report(node, f"version must be the integer 1, got {node.describe()}{hint}")
        return None

    def text(self, node: Node, what: str) -> str | None:
        """A non-blank string."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, str) and value.strip():
            return value
        self.report(
            node, f"{what} must be a non-empty string, got {node.describe()}{node.quote_hint()}"
        )
        return None

    def flag(self, node: Node, what: str) -> bool | None:
        """true or false."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool):
            return value
        self.report(node, f"{what} must be true or false, got {node.describe()}")
        return None

    def count(self, node: Node, what: str, top: int) -> int | None:
        """A whole number from 0 to `top`."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool) or not isinstance(value, int):
            hint = ""
            if isinstance(value, float) and value.is_integer() and 0 <= value <= top:
                hint = f"; write {int(value)}"
            elif isinstance(value, str) and value.strip().isdigit():
                hint = "; remove the quotes"
            self.report(
                node,
                f"{what} must be a whole number from 0 to {top:,}, got {node.describe()}{hint}",
            )
            return None
        if not 0 <= value <= top:
            shown = node.raw() or "a number out of range"
            self.report(node, f"{what} must be from 0 to {top:,}, got {shown}")
            return None
        return value

    def level(self, node: Node, what: str) -> float | None:
        """A confidence level: a number strictly between 0.5 and 1 (0.95, not 95)."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.report(
                node,
                f"{what} must be a number between 0.5 and 1 (e.g. 0.95), got {node.describe()}",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.report(node, f"{what} must be a finite number, got {node.describe()}")
            return None
        if not 0.5 < value < 1:
            shown = node.raw() or f"{value:g}"
            hint = ""
            if 50 < value < 100:
                hint = f"; a level is a fraction: did you mean {value / 100:g}?"
            self.report(
                node,
                f"{what} must be between 0.5 and 1, both excluded (e.g. 0.95), got {shown}{hint}",
            )
            return None
        return float(value)

    def ident(self, node: Node, what: str) -> str | None:
        """A name or id: a non-blank string, or an integer.

        Decision: ids, names and class names are often all digits (`id: 12345`, classes `0`,
        `1`), which YAML and JSON read as integers. Rather than reject them with "quote it",
        an integer is accepted as the text it was written as (YAML's original scalar text, so
        `id: 0123` stays "0123"; str(int) for data). Booleans, floats, dates and null are still
        rejected (`on`, `1.5`, `2024-01-01` would not survive as the text the user meant).
        """
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, int) and not isinstance(value, bool):
            return node.raw() or str(value)
        return self.text(node, what)

    def choice(self, node: Node, what: str, allowed: Sequence[str]) -> str | None:
        """One of `allowed`, with a did-you-mean."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, str) and value in allowed:
            return value
        got = repr(value) if isinstance(value, str) else node.describe()
        message = f"{what} must be one of {', '.join(allowed)}, got {short(got, quoted=False)}"
        if not isinstance(value, str):
            self.report(node, message)
            return None

        def with_guess() -> str:
            guess = _close(value, allowed)
            return message + (f"; did you mean {guess!r}?" if guess else "")

        self.report(node, with_guess)
        return None

    # -- thresholds

    def number(self, node: Node, kind: ThresholdKind) -> float | None:
        """A threshold's value: a number from 0 to the kind's top."""
        top = THRESHOLD_MAX[kind]
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = ""
            if isinstance(value, str):
                as_number = _to_float(value)
                if as_number is not None and node.quoted:
                    hint = "; remove the quotes"
                elif as_number is not None and node.raw() is not None:
                    # YAML 1.1 reads `1e-3` (no dot) as text.
                    hint = f"; write it as a decimal, e.g. {_decimal(as_number)}"
            self.report(
                node,
                f"{kind.value} must be a number between 0 and {top:g}, got {node.describe()}{hint}",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.report(node, f"{kind.value} must be a finite number, got {node.describe()}")
            return None
        if not self.in_range(node, kind, value):
            return None
        return float(value)

    def in_range(
        self, node: Node, kind: ThresholdKind, value: float, *, shown: str | None = None
    ) -> bool:
        top = THRESHOLD_MAX[kind]
        if 0 <= value <= top:
            return True
        raw = node.raw()
        shown = shown or (as_written(raw) if raw else f"{value:g}")
        message = f"{kind.value} must be between 0 and {top:g}, got {shown}"
        if kind is ThresholdKind.MAX_DROP_PCT:
            message += " (a percentage of the baseline value)"
        elif 1 < value <= 100 and kind is ThresholdKind.MAX_DROP:
            message += (
                f"; metric values are fractions: did you mean max_drop: {value / 100:g}"
                f" or max_drop_pct: {value:g}?"
            )
        elif 2 <= value <= 100:  # looks like a percentage; 1.5 is more likely a typo
            message += f"; metric values are fractions: did you mean {value / 100:g}?"
        self.report(node, message)
        return False

    # -- lists

    def splits(self, node: Node) -> tuple[str, ...] | Literal["*"] | None:
        allowed = [*SPLITS, ALL]
        if node.kind == "scalar" and node.value == ALL:
            return ALL
        if node.kind != "sequence":
            value = self.choice(node, "split", allowed)
            return (value,) if value else None
        if not node.count():
            self.report(node, "split is an empty list: list splits, or remove it to use 'test'")
            return None
        return self._listed(
            node, "split", "split", lambda item: self.choice(item, "split", SPLITS), every=True
        )

    def names(
        self, node: Node, key: str, noun: str, *, allow_all: bool
    ) -> tuple[str, ...] | Literal["*"] | None:
        """`classes` or a rule's `evals`: a name, a list of names, or (classes only) "*"."""
        if allow_all and node.kind == "scalar" and node.value == ALL:
            return ALL
        if node.kind != "sequence":
            if (
                node.kind == "scalar"
                and node.value is not None
                and not isinstance(node.value, bool)
            ):
                one = self.ident(node, f"{key} ({'a' if noun == 'class' else 'an'} {noun} name)")
                return (one,) if one is not None else None
            every = '"*" (every class), ' if allow_all else ""
            article = "an" if noun[0] in "aeiou" else "a"
            self.report(
                node,
                f"{key} must be {every}{article} {noun} name or a list of {noun} names, "
                f"got {node.describe()}{node.quote_hint()}",
            )
            return None
        if not node.count():
            hint = (
                'use "*" for every class, or list names'
                if allow_all
                else "list names, or remove it"
            )
            self.report(node, f"{key} is an empty list: {hint}")
            return None
        return self._listed(
            node, key, noun, lambda item: self.ident(item, f"each {noun} name"), every=allow_all
        )

    def _listed(
        self,
        node: Node,
        key: str,
        noun: str,
        read: Callable[[Node], str | None],
        *,
        every: bool,
    ) -> tuple[str, ...] | None:
        """A list's items, each read by `read`, none of them twice; with `every`, a `*` among
        them is refused (it means every one and stands alone). None if any was refused."""
        out: list[str] = []
        seen: dict[str, Node] = {}
        ok = True
        for item in node.items():
            if every and item.kind == "scalar" and item.value == ALL:
                self.report(
                    item, f"'*' means every {noun} and must stand alone: write {key}: \"*\""
                )
                ok = False
                continue
            value = read(item)
            if value is None:
                ok = False
            elif value in seen:
                self.report(
                    item, f"{noun} {value!r} is listed twice (first at {self.where(seen[value])})"
                )
                ok = False
            else:
                seen[value] = item
                out.append(value)
        return tuple(out) if ok else None


def _close(name: str, allowed: Sequence[str]) -> str | None:
    lowered = name.strip().lower()
    if lowered in allowed:
        return lowered
    found = difflib.get_close_matches(lowered, list(allowed), n=1, cutoff=0.6)
    return found[0] if found else None


def _unknown_key(name: str, what: str, allowed: Sequence[str]) -> str:
    guess = _close(name, allowed)
    if guess:
        return f"unknown key {name!r} in {what}, did you mean {guess!r}?"
    return f"unknown key {name!r} in {what}: expected one of {', '.join(allowed)}"


def _to_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _decimal(value: float) -> str:
    text = f"{value:.12f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
