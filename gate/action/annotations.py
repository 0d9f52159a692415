"""Where in the repository a finding is, and the annotations that put it there: a failing or
warning check on the line of its rule in the config, a config problem on its file and line, a
rule the pull request changes on its line (at most `MAX_ANNOTATIONS` of each level; the rest are
counted). Paths are shown relative to the repository root, never the runner's workspace path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
    "annotate_documented_checks",
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


@dataclass(frozen=True, slots=True)
class Flagged:
    """A check to annotate: failing (an `::error`) or warning, where it is, on which line."""

    failing: bool
    message: str
    where: str  # `eval [split] class name`
    line: int | None


def annotate_checks(
    io: ActionsIO, outcome: GateOutcome, path: str, line_of: Callable[[Check], int | None]
) -> None:
    """An `::error` per failing check and a `::warning` per warning, on its rule's line."""
    flagged = [
        Flagged(c.failing, c.message, _where(c.eval_label, c.split, c.class_name), line_of(c))
        for c in outcome.checks
        if c.failing or c.status is Status.WARN
    ]
    annotate_flagged(io, flagged, path)


def annotate_documented_checks(
    io: ActionsIO,
    checks: object,
    path: str,
    line_of_rule: Callable[[int], int | None],
    secrets: tuple[str, ...],
) -> None:
    """The same annotations from a gate's JSON document's `checks` (a durable gate's result,
    from the service; its texts masked of `secrets`): only entries of the documented shape
    count, the rest are skipped."""
    flagged = []
    for check in checks if isinstance(checks, list) else ():
        if not isinstance(check, dict) or check.get("status") not in ("fail", "error", "warn"):
            continue
        texts = [check.get(k) for k in ("message", "eval_label", "split")]
        name, index = check.get("class"), check.get("rule_index")
        if not all(isinstance(t, str) for t in texts) or not isinstance(name, str | None):
            continue
        message, label, split = (redact(str(t), secrets) for t in texts)
        name = None if name is None else redact(name, secrets)
        line = None
        if isinstance(index, int) and not isinstance(index, bool):
            line = line_of_rule(index)
        failing = check["status"] != "warn"
        flagged.append(Flagged(failing, message, _where(label, split, name), line))
    annotate_flagged(io, flagged, path)


def _where(label: str, split: str, class_name: str | None) -> str:
    where = f"{label} [{split}]"
    return where if class_name is None else f"{where} class {class_name}"


def annotate_flagged(io: ActionsIO, flagged: Sequence[Flagged], path: str) -> None:
    """An annotation per flagged check, at most `MAX_ANNOTATIONS` of each level (the last
    one then says how many more)."""
    errors = [f for f in flagged if f.failing]
    warnings = [f for f in flagged if not f.failing]
    for level, checks in (("error", errors), ("warning", warnings)):
        shown = checks if len(checks) <= MAX_ANNOTATIONS else checks[: MAX_ANNOTATIONS - 1]
        for check in shown:
            io.annotate(
                level,
                check.message,
                title=f"eval-gate: {check.where}",
                file=path if check.line is not None else None,
                line=check.line,
            )
        if len(checks) > len(shown):
            io.annotate(
                level,
                f"{len(checks) - len(shown)} more {level}s: see the job summary",
                title="eval-gate",
            )
