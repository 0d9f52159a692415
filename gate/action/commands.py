"""GitHub Actions workflow commands (`::error file=…,line=…::message`), escaped exactly as
@actions/core escapes them: in data `%`, CR and LF are percent-encoded; in properties `:` and
`,` are too (`,` is `%2C`, not `%3A`)."""

from __future__ import annotations

import re

__all__ = ["escape_data", "escape_property", "workflow_command"]

_COMMAND = re.compile(r"^[a-z][a-z0-9-]*$")
_PROPERTY = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def escape_data(text: str) -> str:
    """A command's message, as @actions/core escapes it: `%`, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value: as `escape_data`, plus `:` -> `%3A` and `,` -> `%2C`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str | int | None) -> str:
    """One workflow-command line, e.g. `::error title=Gate failed::map50 0.61 < 0.70`.

    Properties whose value is None or empty are left out; the rest are joined by `,` in the
    order given, as @actions/core does.
    """
    if not _COMMAND.match(command):
        raise ValueError(f"not a workflow command name: {command!r}")
    parts: list[str] = []
    for key, value in properties.items():
        if not _PROPERTY.match(key):
            raise ValueError(f"not a workflow command property name: {key!r}")
        if value is None or value == "":
            continue
        parts.append(f"{key}={escape_property(str(value))}")
    head = f"::{command}"
    if parts:
        head += " " + ",".join(parts)
    return f"{head}::{escape_data(message)}"
