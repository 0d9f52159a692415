"""The server's Roboflow keys a durable gate runs with: never the request's, never in the database.

A durable gate outlives the CI job that submitted it, so it cannot use that job's credentials:
it fetches with the server's Roboflow key for its workspace (`RoboflowKeys`: `ROBOFLOW_API_KEY`
for any workspace, or a key per workspace from `EVAL_GATE_ROBOFLOW_KEYS_FILE`), and posts to
GitHub with the server's credentials (gate.github.credentials: `EVAL_GATE_GITHUB_TOKEN`, or the
GitHub App's installation tokens).

The keys file: one `workspace=KEY` a line, blank lines and `#` comments ignored. A malformed
line is refused with its number, never its text (it may hold a key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gate.core.errors import UsageError

__all__ = ["KEYS_FILE_SETTING", "RoboflowKeys", "parse_keys_file"]

KEYS_FILE_SETTING = "EVAL_GATE_ROBOFLOW_KEYS_FILE"
MAX_KEYS_FILE_BYTES = 1024 * 1024
MAX_KEY_CHARS = 512


@dataclass(frozen=True, slots=True)
class RoboflowKeys:
    """The server's Roboflow keys: one per workspace, else the default for any workspace."""

    default: str | None = field(default=None, repr=False)
    by_workspace: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )

    def key_for(self, workspace: str) -> str | None:
        return self.by_workspace.get(workspace) or self.default

    @property
    def workspaces(self) -> tuple[str, ...]:
        """The workspaces with a key of their own (not secret: for messages)."""
        return tuple(sorted(self.by_workspace))

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(k for k in (self.default, *self.by_workspace.values()) if k)

    def missing_key(self, workspace: str) -> str:
        """Why a gate in `workspace` cannot run here, and how to fix it (one line)."""
        known = ", ".join(self.workspaces[:10])
        has = f" (it has keys for {known})" if known else ""
        return (
            f"this server has no Roboflow key for workspace {workspace!r}{has}: set "
            f"ROBOFLOW_API_KEY, or add a line {workspace}=KEY to {KEYS_FILE_SETTING}"
        )


def _key_problem(key: str) -> str | None:
    if not key:
        return "has no key after '='"
    if len(key) > MAX_KEY_CHARS or not (key.isascii() and key.isprintable()) or " " in key:
        return (
            f"has a key that is not 1 to {MAX_KEY_CHARS} printable ASCII characters without spaces"
        )
    return None


def parse_keys_file(text: str, origin: str = KEYS_FILE_SETTING) -> dict[str, str]:
    """`workspace=KEY` lines as a mapping; one UsageError naming every bad line by number."""
    keys: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        workspace, sep, key = line.partition("=")
        workspace, key = workspace.strip(), key.strip()
        problem: str | None
        if not sep:
            problem = "is not workspace=KEY"
        elif not workspace or any(c.isspace() or not c.isprintable() for c in workspace):
            problem = "has no workspace before '=' (or one with spaces)"
        elif workspace in keys:
            problem = f"names workspace {workspace!r} again"
        else:
            problem = _key_problem(key)
        if problem is not None:
            problems.append(f"line {number} {problem}")
        else:
            keys[workspace] = key
    if problems:
        raise UsageError(f"{origin}: " + "; ".join(problems[:10]) + "; write workspace=KEY lines")
    return keys
