"""A config value with where it was written: the one shape the validator walks.

`Node` is the interface: a mapping's entries, a sequence's items, a scalar's value, and what
the value is in words for messages (`got 70 (a number)`). A node knows its line and column
(YAML text, `gate.config.yaml_nodes`) or only its path (`DataNode`: a mapping parsed from
JSON, located as `rules[2].min`), so one validator serves both and says where either way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Literal

__all__ = ["DataNode", "Node", "NodeKind", "as_written", "short"]

NodeKind = Literal["mapping", "sequence", "scalar", "other"]


class Node(ABC):
    """A config value with where it was written: YAML line/column, or a data path."""

    __slots__ = ("column", "line", "path")

    def __init__(self, path: str, line: int | None, column: int | None) -> None:
        self.path = path  # e.g. "rules[2].min"; "" for the root
        self.line = line  # 1-based, None for data
        self.column = column

    @property
    @abstractmethod
    def kind(self) -> NodeKind: ...

    @abstractmethod
    def entries(self) -> list[tuple[Node, Node]]:
        """A mapping's (key, value) pairs, in order, duplicates included."""

    @abstractmethod
    def items(self) -> Iterator[Node]:
        """A sequence's items, made one at a time (a list may hold 500,000 of them)."""

    @abstractmethod
    def count(self) -> int:
        """How many items a sequence has."""

    @property
    @abstractmethod
    def value(self) -> Any:
        """A scalar's Python value (str, int, float, bool or None)."""

    @abstractmethod
    def key_name(self) -> str | None:
        """This node as a mapping key, or None if it cannot be one."""

    def raw(self) -> str | None:
        """The scalar as written in the source, when there is a source text."""
        return None

    @property
    def quoted(self) -> bool:
        return False

    def other_description(self) -> str:
        return "an unsupported value"

    def quote_hint(self) -> str:
        """`; quote it: "..."` for a YAML plain scalar that did not read as a string."""
        raw = self.raw()
        if raw and self.kind in ("scalar", "other") and not self.quoted:
            if raw != as_written(raw):  # several lines, or very long: no use quoting it
                return ""
            return f'; quote it: "{raw}"'
        return ""

    def describe(self) -> str:
        """What this value is, for `got ...` in messages."""
        if self.kind == "mapping":
            return "a mapping"
        if self.kind == "sequence":
            return "a list"
        if self.kind == "other":
            return self.other_description()
        value, raw = self.value, self.raw()
        if raw is not None:
            raw = as_written(raw)
        if value is None:
            if raw == "":
                return "an empty value"
            return "null" if raw in (None, "null") else f"{raw} (null)"
        if isinstance(value, bool):
            return f"{raw or str(value).lower()} (a boolean)"
        if isinstance(value, int | float):
            return f"{raw or repr(value)} (a number)"
        if isinstance(value, str):
            return f"{short(value)} (a string)"
        return f"a {type(value).__name__}"  # pragma: no cover - scalars are the types above


class DataNode(Node):
    """A value of a mapping parsed from JSON (the service's request): located by its path."""

    __slots__ = ("_data",)

    def __init__(self, data: Any, path: str) -> None:
        super().__init__(path, None, None)
        self._data = data

    @property
    def kind(self) -> NodeKind:
        data = self._data
        if isinstance(data, dict):
            return "mapping"
        if isinstance(data, list | tuple):
            return "sequence"
        if data is None or isinstance(data, str | int | float):
            return "scalar"
        return "other"

    def entries(self) -> list[tuple[Node, Node]]:
        out: list[tuple[Node, Node]] = []
        for key, value in self._data.items():
            path = f"{self.path}.{key}" if self.path else str(key)
            out.append((DataNode(key, path), DataNode(value, path)))
        return out

    def items(self) -> Iterator[Node]:
        return (DataNode(v, f"{self.path}[{i}]") for i, v in enumerate(self._data))

    def count(self) -> int:
        return len(self._data)

    @property
    def value(self) -> Any:
        return self._data

    def key_name(self) -> str | None:
        return self._data if isinstance(self._data, str) else None

    def other_description(self) -> str:
        return f"a {type(self._data).__name__}"


def as_written(raw: str) -> str:
    """A scalar's source text for a one-line message: as is when it is one short printable
    line, else quoted and cut (a block scalar spans lines; a plain one may be megabytes)."""
    return raw if len(raw) <= 40 and raw.isprintable() else short(raw)


def short(text: str, *, quoted: bool = True, limit: int = 40) -> str:
    """`text` cut to `limit` characters for a message, quoted unless `quoted` is False."""
    shown = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(shown) if quoted else shown
