"""The gate id: one spelling, used verbatim for the comment marker, status context and folder.

A gate id is 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit.
It is never rewritten after validation: `a.b`, `a_b` and `a-b` are three gates with three
comments, three statuses and three report folders. None of its characters can open or close
an HTML comment, and none can leave the report folder (`..` needs a leading `.`).
"""

from __future__ import annotations

import re

__all__ = [
    "DEFAULT_GATE_ID",
    "GATE_ID_PATTERN",
    "GATE_ID_RULE",
    "MAX_GATE_ID",
    "MAX_STATUS_CONTEXT",
    "derive_gate_id",
    "gate_id_problem",
    "report_folder",
    "status_context",
]

MAX_GATE_ID = 64
MAX_STATUS_CONTEXT = 255  # GitHub's limit on a commit status's context
GATE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
GATE_ID_RULE = "1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
DEFAULT_GATE_ID = "eval-gate"  # when a config path has no letter or digit at all

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def gate_id_problem(value: str) -> str | None:
    """None when `value` is a valid gate id, else what is wrong with it (no subject)."""
    if GATE_ID_PATTERN.match(value):
        return None
    return f"must be {GATE_ID_RULE}, got {value[:80]!r}"


def derive_gate_id(config: str) -> str:
    """A valid gate id from a config path: lower-case letters, digits and single `-`.

    `.github/eval-gate.yml` -> `github-eval-gate-yml`.
    """
    slug = _NOT_SLUG.sub("-", config.lower()).strip("-")
    slug = slug[:MAX_GATE_ID].rstrip("-")
    return slug or DEFAULT_GATE_ID


def status_context(gate_id: str) -> str:
    """The default commit-status (and check-run) name of a gate."""
    return f"eval-gate/{gate_id}"


def report_folder(gate_id: str) -> str:
    """Where a gate's files go, relative to the workspace."""
    return f".eval-gate/{gate_id}"
