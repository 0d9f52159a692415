"""Reading the files the Actions runner would read, the way the runner reads them."""

from __future__ import annotations

import json
from pathlib import Path


def _read_line(text: str, index: int) -> tuple[str | None, str | None, int]:
    """(line, newline, next index); newline None at the end of text without a line break."""
    if index >= len(text):
        return None, None, index
    end = text.find("\n", index)
    if end == -1:
        return text[index:], None, len(text)
    if end > index and text[end - 1] == "\r":
        return text[index : end - 1], "\r\n", end + 1
    return text[index:end], "\n", end + 1


def parse_runner_output_file(text: str) -> dict[str, str]:
    """What the runner makes of a GITHUB_OUTPUT file: `NAME=VALUE` and `NAME<<DELIM` forms."""
    outputs: dict[str, str] = {}
    line, _, index = _read_line(text, 0)
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                key, value = line.split("=", 1)
            elif heredoc >= 0:
                key, delimiter = line.split("<<", 1)
                assert key and delimiter, f"invalid heredoc line {line!r}"
                start = end = index
                temp, newline, index = _read_line(text, index)
                while temp != delimiter:
                    assert temp is not None, f"delimiter {delimiter} not found"
                    assert newline is not None, "EOF marker missing new line"
                    end = index - len(newline)
                    temp, newline, index = _read_line(text, index)
                value = text[start:end] if end > start else ""
            else:
                raise AssertionError(f"invalid line {line!r}")
            outputs[key] = value
        line, _, index = _read_line(text, index)
    return outputs


# --- how the runner starts the Action: the image's ENTRYPOINT ------------------------------------

REPO = Path(__file__).resolve().parent.parent
IMAGE_PYTHON = "/usr/local/bin/python"


def dockerfile_instructions(path: Path = REPO / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not pending and not line):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, rest = full.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    assert not pending, f"{path.name} ends in a continuation line"
    return instructions


def image_entrypoint(path: Path = REPO / "Dockerfile") -> list[str]:
    """The image's one exec-form ENTRYPOINT, as a list."""
    entrypoints = [
        rest for keyword, rest in dockerfile_instructions(path) if keyword == "ENTRYPOINT"
    ]
    assert len(entrypoints) == 1, entrypoints
    command = json.loads(entrypoints[0])  # exec form is a JSON array
    assert isinstance(command, list), command
    assert all(isinstance(part, str) for part in command), command
    return command


def entrypoint_here(python: str, path: Path = REPO / "Dockerfile") -> list[str]:
    """The image's ENTRYPOINT with this machine's `python` for the image's: the same flags."""
    command = image_entrypoint(path)
    assert command[0] == IMAGE_PYTHON, command
    return [python, *command[1:]]
