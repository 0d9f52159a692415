"""YAML text as config nodes: composed, located by line and column, bounded by a budget.

YAML is composed (`yaml.compose`), never `safe_load`ed: the node tree keeps every position and
shows duplicate keys, which PyYAML's constructor would silently overwrite. Scalars are
constructed one at a time, when the validator asks for their value. Text that is not YAML is
one located problem (`compose`): the parser's mark, or the first character YAML refuses.

Aliases (`*name`) repeat a node without repeating its text, so every node made counts against
a budget (`Budget`); `BudgetExhausted` says where it ran out. Positions are the file's lines
and columns, as editors and GitHub count them (`Lines`), not the YAML 1.1 parser's.
PyYAML is imported on first use: only the YAML path pays for it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from gate.config.nodes import Node, NodeKind, short
from gate.core.errors import ConfigError, Problem

if TYPE_CHECKING:
    import yaml
    from yaml.constructor import SafeConstructor

__all__ = ["EMPTY_CONFIG", "Budget", "BudgetExhausted", "Lines", "YamlNode", "compose"]

EMPTY_CONFIG: Final = "the config is empty: it needs at least `version: 1` and a list of `rules:`"

_MIN_NODE_BUDGET = 100_000
_MAX_INT_BITS = 333  # about 100 decimal digits

_YAML_SCALAR_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "null", "bool", "int", "float")
)
_YAML_INT: Final = "tag:yaml.org,2002:int"
_YAML_MAP: Final = "tag:yaml.org,2002:map"
_YAML_SEQ: Final = "tag:yaml.org,2002:seq"
# YAML line breaks (the parser counts lines with these).
_LINE_BREAK_RE: Final = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
# The file's line breaks, as editors, git and GitHub's annotations count lines (YAML 1.2's too):
# YAML 1.1's parsers also break lines at U+0085, U+2028 and U+2029.
_FILE_LINE_BREAK_RE: Final = re.compile(r"\r\n|[\r\n]")
_YAML_ONLY_BREAKS: Final = ("\x85", "\u2028", "\u2029")


def compose(text: str, source: str) -> YamlNode | None:
    """The root node of YAML `text` (None when the document is empty); ConfigError, one
    located problem, when the text is not one YAML document."""
    import yaml  # noqa: PLC0415 - only the YAML path pays for PyYAML

    lines = Lines(text)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_marked_yaml_problem(exc, text, source, lines)]) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError([_bad_character_problem(text, source, exc.reason)]) from None
    except UnicodeError:  # libyaml cannot encode lone surrogates
        raise ConfigError([_bad_character_problem(text, source, "invalid character")]) from None
    except RecursionError:  # the pure-Python composer recurses per nesting level
        problem = Problem("invalid YAML: the document is nested too deeply", source, 1, 1)
        raise ConfigError([problem]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error is one of the above
        raise ConfigError([Problem(f"invalid YAML: {exc}", source)]) from None
    if root is None:
        return None
    constructor = yaml.constructor.SafeConstructor()
    # Aliases (`*name`) repeat a node without repeating its text: a megabyte of them can stand
    # for billions of values. A valid config without aliases holds far fewer values than half
    # its characters (names are unique, keys come from a short list), so this budget binds
    # only on alias bombs and absurd invalid files, and walking it costs two seconds at most.
    budget = Budget(max(_MIN_NODE_BUDGET, len(text) // 2 + 1))
    return YamlNode(root, "", constructor, budget, lines)


# --- YAML errors ------------------------------------------------------------------------------


def _marked_yaml_problem(
    exc: yaml.MarkedYAMLError, text: str, source: str, lines: Lines
) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "syntax error"
    message = f"invalid YAML: {problem}"
    context_mark = exc.context_mark
    if "another document" in problem:
        message = "invalid YAML: the config must be a single YAML document (remove the '---')"
    elif (
        exc.problem
        and exc.context
        and context_mark is not None
        and (mark is None or (context_mark.line, context_mark.column) != (mark.line, mark.column))
    ):
        context_line, context_column = lines.position(context_mark.line, context_mark.column)
        message += f" ({exc.context} at line {context_line}, column {context_column})"
    if mark is None:
        return Problem(message, source)
    yaml_lines = _LINE_BREAK_RE.split(text)  # the lines the mark counts
    line_text = yaml_lines[mark.line] if mark.line < len(yaml_lines) else ""
    if mark.column < len(line_text) and line_text[mark.column] == "\t":
        message += "; indent with spaces, not tabs"
    return Problem(message, source, *lines.position(mark.line, mark.column))


def _bad_character_problem(text: str, source: str, reason: str) -> Problem:
    """A character YAML does not accept; locate it ourselves (libyaml counts bytes)."""
    for index, char in enumerate(text):
        if _yaml_rejects(char):
            before = _FILE_LINE_BREAK_RE.split(text[:index])
            line, column = len(before), len(before[-1]) + 1
            return Problem(
                f"invalid YAML: {reason}: character U+{ord(char):04X} is not allowed",
                source,
                line,
                column,
            )
    return Problem(f"invalid YAML: {reason}", source)  # pragma: no cover - defensive


def _yaml_rejects(char: str) -> bool:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return True
    allowed = (
        char in "\t\n\r\x85"
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
    return not allowed


class Lines:
    """Where a YAML mark is in the file: the parser counts a U+0085, U+2028 or U+2029 as a line
    break (YAML 1.1), which editors and GitHub do not, so a mark after one is a line further
    down than the file shows it. `position` gives the file's 1-based line and column."""

    __slots__ = ("_file_starts", "_yaml_starts")

    def __init__(self, text: str) -> None:
        self._yaml_starts: list[int] = []
        self._file_starts: list[int] = []
        if any(char in text for char in _YAML_ONLY_BREAKS):
            self._yaml_starts = [0, *(m.end() for m in _LINE_BREAK_RE.finditer(text))]
            self._file_starts = [0, *(m.end() for m in _FILE_LINE_BREAK_RE.finditer(text))]

    def position(self, line: int, column: int) -> tuple[int, int]:
        """The file's (line, column), both 1-based, of the mark at YAML's 0-based ones."""
        if not self._yaml_starts or line >= len(self._yaml_starts):
            return line + 1, column + 1
        index = self._yaml_starts[line] + column
        row = bisect.bisect_right(self._file_starts, index) - 1
        return row + 1, index - self._file_starts[row] + 1


# --- the budget -------------------------------------------------------------------------------


class BudgetExhausted(Exception):
    """More nodes than the budget allows: raised where the walk ran out."""

    def __init__(self, line: int, column: int, size: int) -> None:
        super().__init__(line, column)
        self.line = line
        self.column = column
        self.size = size

    def problem(self, source: str) -> Problem:
        message = (
            f"the config expands to more than {self.size:,} values to check (a YAML alias, "
            "*name, counts what it points to each time it is used): shorten it, or use fewer "
            "aliases"
        )
        return Problem(message, source, self.line, self.column)


class Budget:
    """How many more YAML nodes the validator may visit (aliases make a node count again)."""

    __slots__ = ("left", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.left = size


# --- nodes ------------------------------------------------------------------------------------


class YamlNode(Node):
    """A node of composed YAML: located by line and column, its scalar constructed on use."""

    __slots__ = (
        "_budget",
        "_constructor",
        "_huge",
        "_kind",
        "_lines",
        "_node",
        "_quoted",
        "_text",
        "_value",
    )

    def __init__(
        self,
        node: yaml.Node,
        path: str,
        constructor: SafeConstructor,
        budget: Budget,
        lines: Lines,
    ) -> None:
        from yaml.nodes import MappingNode, ScalarNode, SequenceNode  # noqa: PLC0415 - lazy yaml

        mark = node.start_mark
        line, column = lines.position(mark.line, mark.column)
        budget.left -= 1
        if budget.left < 0:
            raise BudgetExhausted(line, column, budget.size)
        super().__init__(path, line, column)
        self._node = node
        self._budget = budget
        self._lines = lines
        self._constructor = constructor
        self._value: Any = None
        self._text: str | None = None  # a scalar's text as written
        self._quoted = False
        self._huge = False  # an integer too large to be any config value
        kind: NodeKind = "other"
        if isinstance(node, ScalarNode):
            self._text = str(node.value)
            self._quoted = node.style in ("'", '"')
            if node.tag in _YAML_SCALAR_TAGS:
                try:
                    self._value = constructor.construct_object(node)
                    kind = "scalar"
                # PyYAML's constructors fail in many ways on explicitly tagged text: `!!int abc`
                # (ValueError), `!!bool maybe` (KeyError), `!!int +` or `!!float ""`
                # (IndexError), a 5,000-digit `!!int` (ValueError: int's digit limit).
                except (ValueError, KeyError, IndexError, TypeError, OverflowError):
                    kind = "other"
                    self._huge = node.tag == _YAML_INT and len(self._text) > 100
                finally:
                    # No cache of every value; and a failed construction leaves the node marked
                    # as "being constructed", which would make its next alias (`*v`) raise
                    # "found unconstructable recursive node".
                    constructor.constructed_objects.pop(node, None)
                    constructor.recursive_objects.pop(node, None)
                if isinstance(self._value, int) and self._value.bit_length() > _MAX_INT_BITS:
                    # `0x` + 5,000 hex digits reads fine, but cannot even be printed (str()
                    # refuses ints of more than 4,300 digits): no config value is that large.
                    self._value = None
                    self._huge = True
                    kind = "other"
        elif isinstance(node, MappingNode) and node.tag == _YAML_MAP:
            kind = "mapping"
        elif isinstance(node, SequenceNode) and node.tag == _YAML_SEQ:
            kind = "sequence"
        self._kind = kind

    @property
    def kind(self) -> NodeKind:
        return self._kind

    def _child(self, node: yaml.Node, path: str) -> YamlNode:
        return YamlNode(node, path, self._constructor, self._budget, self._lines)

    def entries(self) -> list[tuple[Node, Node]]:
        out: list[tuple[Node, Node]] = []
        for key, value in self._node.value:
            child = self._child(key, "")
            name = child.raw() or "?"
            child.path = f"{self.path}.{name}" if self.path else name
            out.append((child, self._child(value, child.path)))
        return out

    def items(self) -> Iterator[Node]:
        return (self._child(n, f"{self.path}[{i}]") for i, n in enumerate(self._node.value))

    def count(self) -> int:
        return len(self._node.value)

    @property
    def value(self) -> Any:
        return self._value

    def key_name(self) -> str | None:
        # The key as written: `on:` or `1:` stay the names the user typed, not True or 1.
        return self._text

    def raw(self) -> str | None:
        return self._text

    @property
    def quoted(self) -> bool:
        return self._quoted

    def other_description(self) -> str:
        tag = str(self._node.tag)
        if self._huge:
            return "an integer of more than 100 digits"
        if tag.startswith("tag:yaml.org,2002:"):
            tag_name = tag.removeprefix("tag:yaml.org,2002:")
            raw = self._text
            return f"{short(raw)} (a YAML {tag_name})" if raw is not None else f"a YAML {tag_name}"
        return f"a value tagged {tag!r} (custom YAML tags are not supported)"
