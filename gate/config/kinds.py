"""How a config value of each kind is read and described: the kinds of the field tables
(`gate.config.fields`).

A kind reads a value through the validator (`Reader`: each of its readers reports the value's
problems at its location and gives None for a value it refused) and describes the values it
accepts as JSON Schema. This module does no I/O and imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from gate.core.metrics import METRICS, SPLITS, MetricSpec
from gate.core.model import ALL, EVAL_BY, ThresholdKind

if TYPE_CHECKING:
    from gate.core.model import EvalSpec, Rule

__all__ = [
    "THRESHOLD_MAX",
    "Choice",
    "Count",
    "Described",
    "EvalList",
    "Flag",
    "Ident",
    "Kind",
    "Level",
    "Metric",
    "Names",
    "Number",
    "Reader",
    "RuleList",
    "Splits",
    "Text",
    "Version",
]

# The upper bound of each threshold (the lower bound is 0): metric values are fractions,
# `max_drop_pct` is a percentage of the baseline value.
THRESHOLD_MAX: Final = {
    ThresholdKind.MIN: 1.0,
    ThresholdKind.MAX: 1.0,
    ThresholdKind.MAX_DROP: 1.0,
    ThresholdKind.MAX_DROP_PCT: 100.0,
}

NAME_REF: Final = "#/$defs/name"
CLASS_NAME_REF: Final = "#/$defs/className"
RULE_REF: Final = "#/$defs/rule"


class Reader(Protocol):
    """What a kind reads a value with: the validator's readers, each reporting its problems
    (located at `node`) and giving None for a value it refused."""

    def version(self, node: Any) -> int | None: ...
    def text(self, node: Any, what: str) -> str | None: ...
    def ident(self, node: Any, what: str) -> str | None: ...
    def flag(self, node: Any, what: str) -> bool | None: ...
    def count(self, node: Any, what: str, top: int) -> int | None: ...
    def level(self, node: Any, what: str) -> float | None: ...
    def choice(self, node: Any, what: str, allowed: Sequence[str]) -> str | None: ...
    def metric(self, node: Any, name: str | None = None) -> MetricSpec | None: ...
    def number(self, node: Any, kind: ThresholdKind) -> float | None: ...
    def splits(self, node: Any) -> tuple[str, ...] | Literal["*"] | None: ...
    def names(
        self, node: Any, key: str, noun: str, *, allow_all: bool
    ) -> tuple[str, ...] | Literal["*"] | None: ...
    def evals(self, node: Any) -> tuple[EvalSpec, ...]: ...
    def rules(self, node: Any) -> tuple[Rule, ...]: ...


class Kind:
    """How a field's value is read (with the validator) and described (in the JSON Schema)."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        raise NotImplementedError

    def convert(self, written: Any) -> Any:
        """A default, as written in a config, as the value the validator makes of it."""
        return written

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError


class Described(Protocol):
    """A table of fields, as a kind whose items are mappings describes them (`Section`)."""

    @property
    def required(self) -> list[str]: ...

    def properties(self) -> dict[str, Any]: ...


class Version(Kind):
    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.version(node)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "const": 1}


class Text(Kind):
    """A non-blank string."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.text(node, name)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"\S"}


class Ident(Kind):
    """A name or id: a non-blank string, or an integer read as the text it is written as."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.ident(node, name)

    def schema(self) -> dict[str, Any]:
        return {"$ref": NAME_REF}


class Flag(Kind):
    """true or false."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.flag(node, name)

    def convert(self, written: Any) -> Any:
        return bool(written)

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Count(Kind):
    """A whole number from 0 to `top`."""

    __slots__ = ("top",)

    def __init__(self, top: int) -> None:
        self.top = top

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.count(node, name, self.top)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 0, "maximum": self.top}


class Level(Kind):
    """A confidence level, strictly between 0.5 and 1."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.level(node, name)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 1}


class Choice(Kind):
    """One of `values` (with a did-you-mean), made into `to(value)` when given."""

    __slots__ = ("to", "values")

    def __init__(self, values: Sequence[str], to: Callable[[str], Any] | None = None) -> None:
        self.values = tuple(values)
        self.to = to

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        value = reader.choice(node, name, self.values)
        return None if value is None else self.convert(value)

    def convert(self, written: Any) -> Any:
        return written if self.to is None else self.to(written)

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


class Metric(Kind):
    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.metric(node)

    def schema(self) -> dict[str, Any]:
        return {"enum": list(METRICS)}


class Number(Kind):
    """A threshold: a finite number from 0 to `THRESHOLD_MAX[kind]`."""

    __slots__ = ("threshold",)

    def __init__(self, threshold: ThresholdKind) -> None:
        self.threshold = threshold

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.number(node, self.threshold)

    def schema(self) -> dict[str, Any]:
        top = THRESHOLD_MAX[self.threshold]
        return {"type": "number", "minimum": 0, "maximum": int(top) if top.is_integer() else top}


class Splits(Kind):
    """A split, a list of splits, or "*" (every split present)."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.splits(node)

    def convert(self, written: Any) -> Any:
        return ALL if written == ALL else (written,)

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"enum": [*SPLITS, ALL]},
                {
                    "type": "array",
                    "items": {"enum": list(SPLITS)},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            ]
        }


class Names(Kind):
    """A name or a list of names (`classes`, a rule's `evals`); "*" too when `allow_all`."""

    __slots__ = ("allow_all", "noun")

    def __init__(self, noun: str, *, allow_all: bool) -> None:
        self.noun = noun
        self.allow_all = allow_all

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        named = reader.names(node, name, self.noun, allow_all=self.allow_all)
        return named if self.allow_all or isinstance(named, tuple) else None

    def schema(self) -> dict[str, Any]:
        ref = CLASS_NAME_REF if self.allow_all else NAME_REF
        listed = {"type": "array", "items": {"$ref": ref}, "minItems": 1, "uniqueItems": True}
        if not self.allow_all:
            return {"anyOf": [{"$ref": ref}, listed]}
        every = {"const": ALL, "description": f"every {self.noun} present in the results"}
        return {"anyOf": [every, {"$ref": ref}, listed]}


class EvalList(Kind):
    """The top level's `evals`: ids, or mappings of `section` (the `EVAL` table)."""

    __slots__ = ("section",)

    def __init__(self, section: Described) -> None:
        self.section = section

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.evals(node)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {
                "anyOf": [
                    {"$ref": NAME_REF, "description": "An evaluation id."},
                    {
                        "description": (
                            "An evaluation named by its id, its model or its dataset version "
                            "(exactly one), with an optional name and baseline."
                        ),
                        "type": "object",
                        "additionalProperties": False,
                        "required": self.section.required,
                        "oneOf": [{"required": [key]} for key in EVAL_BY],
                        "properties": self.section.properties(),
                    },
                ]
            },
        }


class RuleList(Kind):
    """The top level's `rules`: at least one rule (a mapping of the `RULE` section, or the
    compact form, described in the schema's `$defs/rule`)."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.rules(node)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "items": {"$ref": RULE_REF}}
