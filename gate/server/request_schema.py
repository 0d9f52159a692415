"""The `POST /v1/gate` body against the OpenAPI document's `GateRequest`, in words.

The schema is read from the OpenAPI document the package ships (`gate/schema/openapi.yaml`,
a link to the top-level `schema/` in a checkout) and checked with jsonschema: types, allowed
values, ranges, patterns, required and unknown fields, each problem located by its path
(`github.sha`, `evals[2]`) and said as `must be ..., got ...` in the words of the field's
meaning (a secret's value never described). What the schema cannot say is `gate.server.body`'s.
jsonschema is imported here only, on the first request: never on the CLI's path.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from gate.core.gate_id import GATE_ID_RULE

__all__ = [
    "MAX_EVALS",
    "OPENAPI_PATH",
    "REQUEST_SCHEMA",
    "kind_of",
    "number_text",
    "request_validator",
    "schema_problems",
    "shown",
]

MAX_EVALS: Final = 100  # evaluations gated by one request (evals plus the config's evals:)


# --------------------------------------------------------------------------- values, shown


def kind_of(value: Any) -> str:
    """What kind of JSON value `value` is, for `got ...` (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def shown(value: str, limit: int = 60) -> str:
    """A text the client sent, quoted and cut to `limit` characters, for a message."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def number_text(value: float) -> str:
    """A number from the request, for a message (never thousands of digits, never an error)."""
    if isinstance(value, int):
        if value.bit_length() <= 64:
            return f"{value:,}"
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    return f"{value:g}" if math.isfinite(value) else repr(value)


# --------------------------------------------------------------------------- the schema

OPENAPI_PATH: Final = ("schema", "openapi.yaml")  # in the package: gate/schema/openapi.yaml
REQUEST_SCHEMA: Final = "#/components/schemas/GateRequest"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"

# Said in words, not as the schema's pattern: what each patterned field must be.
_PATTERN_HINTS: Final = {
    "github.repository": "must be owner/name",
    "github.sha": "must be a full commit SHA (40 hexadecimal characters)",
    "github.gate_id": f"must be {GATE_ID_RULE}",
    "github.target_url": "must be an http(s) URL",
}

# What a missing required field is, after "is required: ".
_REQUIRED_HINTS: Final = {
    "config": "the gate's config, as an object or as YAML text",
    "github.repository": "the repository as owner/name",
    "github.token": "a GitHub token that may comment and set statuses",
}

_SECRETS: Final = frozenset({"github.token"})  # never described beyond their JSON type

_TYPE_WORDS: Final = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def _ecma_pattern(_validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[Any]:
    """JSON Schema's `pattern` as ECMA-262 reads it: `$` is the end of the text (Python's `$`
    also matches before a final newline, which would let "owner/name\n" through)."""
    from jsonschema.exceptions import ValidationError  # noqa: PLC0415 - already loaded

    if not isinstance(instance, str):
        return
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    if re.search(pattern, instance) is None:
        yield ValidationError(f"does not match {pattern!r}")


@functools.cache
def request_validator() -> Any:
    """A Draft 2020-12 validator of `GateRequest` from the OpenAPI document the package ships
    (`gate/schema/openapi.yaml`, the top-level `schema/openapi.yaml` in a checkout)."""
    from importlib.resources import files  # noqa: PLC0415 - once, on the first request

    import yaml  # noqa: PLC0415
    from jsonschema import Draft202012Validator, validators  # noqa: PLC0415

    text = files("gate").joinpath(*OPENAPI_PATH).read_text(encoding="utf-8")
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    schema = {"$schema": _DRAFT, "components": document["components"], "$ref": REQUEST_SCHEMA}
    Draft202012Validator.check_schema(schema)
    strict = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
    return strict(schema)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if len(part) <= 60 else part[:57] + "..."
            out += f".{name}" if out else name
    return out


def _got(where: str, value: Any) -> str:
    """The value sent, for `got ...` (its kind only for a secret or a value of another kind)."""
    if where in _SECRETS or isinstance(value, bool) or value is None:
        return kind_of(value)
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, str):
        return shown(value)
    return kind_of(value)


def _types(names: Any) -> str:
    listed = [names] if isinstance(names, str) else [n for n in names if n != "null"]
    return " or ".join(_TYPE_WORDS.get(n, n) for n in listed)


def _schema_message(error: Any, where: str, expected: dict[str, str]) -> str:
    """One schema error as `must be ..., got ...`, in the words of the fields' meaning."""
    keyword, value, schema = error.validator, error.instance, error.schema
    if where in expected:
        got = kind_of(value) if keyword in ("type", "oneOf", "anyOf") else _got(where, value)
        return f"must be {expected[where]}, got {got}"
    if keyword == "type":
        return f"must be {_types(schema['type'])}, got {kind_of(value)}"
    if keyword == "enum":
        allowed = ", ".join(str(v) for v in schema["enum"] if v is not None)
        return f"must be one of {allowed}, got {_got(where, value)}"
    if keyword == "pattern":
        return _PATTERN_HINTS.get(where, f"must match {schema['pattern']}")
    if keyword in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"must be between {low:,} and {high:,}, got {_got(where, value)}"
        if low is not None:
            return f"must be at least {low:,}, got {_got(where, value)}"
        return f"must be at most {high:,}, got {_got(where, value)}"
    if keyword in ("minLength", "maxLength"):
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is None:
            return f"must be at least {low:,} character{'s' if low != 1 else ''} long"
        return f"must be {max(low, 1) if low else 0} to {high:,} characters long"
    if keyword == "maxItems":
        return f"lists {len(value):,} items; at most {schema['maxItems']:,} a request"
    if keyword in ("oneOf", "anyOf"):
        kinds = [_types(branch.get("type", "value")) for branch in schema[keyword]]
        return f"must be {' or '.join(kinds)}, got {kind_of(value)}"
    return f"is not valid ({keyword})"  # pragma: no cover - the keywords GateRequest uses


def _bounded(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with any list longer than MAX_EVALS + 1 cut to that length (its `maxItems` still
    fails; nothing else about a megabyte-long list needs checking item by item)."""
    cut = {k: v[: MAX_EVALS + 1] for k, v in data.items() if isinstance(v, list)}
    cut = {k: v for k, v in cut.items() if len(v) < len(data[k])}
    return {**data, **cut} if cut else data


def schema_problems(data: dict[str, Any], expected: dict[str, str]) -> list[tuple[str, str]]:
    """Every way `data` breaks `GateRequest`, as (field path, message), in the schema's
    order; unknown fields one by one."""
    out: list[tuple[str, str]] = []
    for error in request_validator().iter_errors(_bounded(data)):
        parts = list(error.absolute_path)
        keyword = error.validator
        if keyword == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    where = _path([*parts, name])
                    hint = _REQUIRED_HINTS.get(where)
                    out.append((where, f"is required: {hint}" if hint else "is required"))
        elif keyword == "additionalProperties":
            allowed = list(error.schema.get("properties", {}))
            prefix = _path(parts) + "." if parts else ""
            valid = ", ".join(prefix + name for name in allowed)
            for key in error.instance:
                if key not in allowed:
                    where = _path([*parts, key])
                    out.append((where, f"unknown field; valid fields are {valid}"))
        else:
            where = _path(parts)
            if keyword == "maxItems" and len(parts) == 1:
                error.instance = data[parts[0]]  # the list sent, not the cut one
            out.append((where, _schema_message(error, where, expected)))
    return out
