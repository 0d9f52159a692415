"""Exit codes and the one exception hierarchy every user-causable error belongs to.

Each error carries a one-line, user-facing message (what, where, how to fix) and the
exit code the command line returns for it. Nothing here formats tracebacks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.core.redact import redact_line

if TYPE_CHECKING:
    from gate.core.model import EvalSpec

BASE_ONLY_IN_ACTION = (
    "baseline: base only works in the GitHub Action on pull requests (the base branch's "
    "config names the baselines); name an eval id, auto or champion instead"
)


class ExitCode(enum.IntEnum):
    """Process exit codes, shared by the CLI and the GitHub Action."""

    OK = 0  # pass or warn
    FAILED = 1  # the gate failed (or warned, with --fail-on warning)
    USAGE = 2  # bad command line, bad config
    UNAVAILABLE = 3  # results could not be had: network, auth, not found, eval failed, timeout
    INTERNAL = 70  # a bug in eval-gate (EX_SOFTWARE): reported in one line, never a traceback


class GateError(Exception):
    """Base of every error a user can cause; `str()` is the one-line message."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(GateError):
    """The command line or its environment is wrong (missing key, bad flag value...)."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class Problem:
    """One config problem, located as precisely as the source allows."""

    message: str
    source: str = "<config>"
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


MAX_PROBLEMS = 50
"""At most this many problems are kept and shown; the rest are counted ("... and N more")."""


def capped_lines(lines: Sequence[str], total: int | None = None) -> list[str]:
    """The first `MAX_PROBLEMS` of `lines`, then one line counting the rest of `total`."""
    count = len(lines) if total is None else max(total, len(lines))
    shown = list(lines[:MAX_PROBLEMS])
    rest = count - len(shown)
    if rest > 0:
        shown.append(f"... and {rest:,} more problem{'s' if rest != 1 else ''}")
    return shown


class ConfigError(GateError):
    """The config is invalid. Holds the first `MAX_PROBLEMS` problems and counts them all."""

    exit_code = ExitCode.USAGE

    def __init__(self, problems: Sequence[Problem], *, total: int | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems[:MAX_PROBLEMS])
        count = len(problems) if total is None else max(total, len(problems))
        self.total = count
        head = str(self.problems[0]) if self.problems else "invalid config"
        more = f" (and {count - 1:,} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        super().__init__(head + more)

    def lines(self) -> list[str]:
        """One line per kept problem, then "... and N more problems" if some were dropped."""
        return capped_lines([str(p) for p in self.problems], self.total)


class ResultsUnavailable(GateError):
    """Results could not be obtained: network, auth, not found, eval failed, still running."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, eval_id: str | None = None) -> None:
        self.eval_id = eval_id
        super().__init__(message)


class BaseNotAvailable(ConfigError):
    """`baseline: base` where there is no base branch's config to match against: a config
    error on each item that says it (`places`: its file, line and column, or the key)."""

    def __init__(self, places: Iterable[tuple[str, int | None, int | None]]) -> None:
        self.places = tuple(places)
        super().__init__([Problem(BASE_ONLY_IN_ACTION, *place) for place in self.places])

    @classmethod
    def at(cls, specs: Iterable[EvalSpec]) -> BaseNotAvailable:
        """The error located on each of `specs` (the items asking for `baseline: base`)."""
        return cls(
            (spec.location.source, spec.location.line, spec.location.column)
            if spec.location is not None
            else ("baseline", None, None)
            for spec in specs
        )


def internal_error_message(error: BaseException, secrets: Iterable[str] = ()) -> str:
    """One line for an unexpected exception: a bug, to be reported (`secrets` masked in its
    text before the text is cut short)."""
    detail = redact_line(str(error), secrets, limit=300)
    return (
        f"internal error ({error.__class__.__name__}: {detail}); this is a bug in eval-gate, "
        "please report it with the command you ran (set EVAL_GATE_DEBUG=1 for a traceback)"
    )
