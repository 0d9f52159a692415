"""Where in the repository a finding is, and the annotations that put it there: a failing or
warning check on the line of its rule in the config, a config problem on its file and line, a
rule the pull request changes on its line (at most `MAX_ANNOTATIONS` of each level; the rest are
counted). Paths are shown relative to the repository root, never the runner's workspace path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from gate.action.base_config import ConfigChoice, change_notices, rule_line
from gate.core.errors import ConfigError, GateError, Problem
from gate.core.outcome import Check, GateOutcome, Status
from gate.core.redact import redact
from gate.report.no_verdict import error_lines

if TYPE_CHECKING:
    from gate.action.inputs import ActionSettings
    from gate.action.runner import ActionsIO

__all__ = [
    "MAX_ANNOTATIONS",
    "annotate_checks",
    "annotate_error",
    "annotate_rule_changes",
    "config_path",
    "in_repository",
    "line_of",
    "relative",
]

MAX_ANNOTATIONS = 10  # GitHub shows at most 10 of each level per step


# --- where --------------------------------------------------------------------------------------


def relative(text: str, workspace: Path) -> str:
    """`text` without the workspace's absolute path: `/github/workspace/.github/x.yml:3:5`
    reads `.github/x.yml:3:5` (the runner's paths mean nothing on the pull request)."""
    prefix = workspace.as_posix().rstrip("/") + "/"
    return text.replace(prefix, "") if prefix != "/" else text


def in_repository(error: GateError, workspace: Path) -> GateError:
    """`error` with paths relative to the repository root (the workspace), as every message,
    annotation, comment and check run shows them."""
    if type(error) is ConfigError:
        problems = [replace(p, source=relative(p.source, workspace)) for p in error.problems]
        return ConfigError(problems, total=error.total)
    if error.args and isinstance(error.args[0], str):
        error.args = (relative(error.args[0], workspace), *error.args[1:])
    return error


def _in_checkout(problem: Problem) -> bool:
    """Whether a problem is located in a file of the checkout (relative to its root)."""
    source = problem.source
    outside = source.startswith("<") or Path(source).is_absolute()  # `<base>:...`, `/elsewhere`
    return problem.line is not None and not outside


def config_path(settings: ActionSettings, choice: ConfigChoice | None) -> str:
    """The config file relative to the repository root (the workspace), `/`-separated."""
    path = choice.path if choice is not None and choice.path else settings.config
    return Path(path).as_posix().removeprefix("./")


def line_of(choice: ConfigChoice | None) -> Callable[[Check], int | None]:
    """Where a check's rule is written in the checkout's config (the base's rules: where the
    pull request's file has the same rule)."""

    def line(check: Check) -> int | None:
        if choice is not None:
            return rule_line(choice, check.rule_index)
        return check.location.line if check.location is not None else None

    return line


# --- the annotations ----------------------------------------------------------------------------


def annotate_error(io: ActionsIO, error: GateError, secrets: tuple[str, ...]) -> None:
    """An `::error` per line of the error; a config problem in a file of the repository sits
    on its file and line, as a failing check does (the base branch's problems, `<base>:...`,
    are in no file of the checkout)."""
    log = structlog.get_logger("gate.action.annotations")
    problems = error.problems if isinstance(error, ConfigError) else ()
    for index, line in enumerate(error_lines(error)):
        problem = problems[index] if index < len(problems) else None
        where = problem if problem is not None and _in_checkout(problem) else None
        io.annotate(
            "error",
            redact(line, secrets),
            title="eval-gate",
            file=where.source if where is not None else None,
            line=where.line if where is not None else None,
            col=where.column if where is not None else None,
        )
        log.error("gate.error", message=line)


def annotate_rule_changes(io: ActionsIO, choice: ConfigChoice | None) -> None:
    """A notice per rule and verdict setting the pull request changes, on its line of the
    config (the diff shows it); the base's still judge this run."""
    if choice is None or not choice.from_pull_request or not choice.changed:
        return
    changes = change_notices(choice)
    shown = changes if len(changes) <= MAX_ANNOTATIONS else changes[: MAX_ANNOTATIONS - 1]
    for notice in shown:
        io.annotate(
            "notice",
            notice.message,
            title=notice.title,
            file=choice.path if notice.line is not None else None,
            line=notice.line,
        )
    if len(changes) > len(shown):
        io.annotate(
            "notice",
            f"{len(changes) - len(shown)} more rule changes: see the job summary",
            title="eval-gate",
        )


def annotate_checks(
    io: ActionsIO, outcome: GateOutcome, path: str, line_of: Callable[[Check], int | None]
) -> None:
    """An `::error` per failing check and a `::warning` per warning, on its rule's line."""
    errors = [c for c in outcome.checks if c.failing]
    warnings = [c for c in outcome.checks if c.status is Status.WARN]
    for level, checks in (("error", errors), ("warning", warnings)):
        shown = checks if len(checks) <= MAX_ANNOTATIONS else checks[: MAX_ANNOTATIONS - 1]
        for check in shown:
            where = f"{check.eval_label} [{check.split}]"
            if check.class_name is not None:
                where += f" class {check.class_name}"
            line = line_of(check)
            io.annotate(
                level,
                check.message,
                title=f"eval-gate: {where}",
                file=path if line is not None else None,
                line=line,
            )
        if len(checks) > len(shown):
            io.annotate(
                level,
                f"{len(checks) - len(shown)} more {level}s: see the job summary",
                title="eval-gate",
            )
