"""Exit codes and the one exception hierarchy every user-causable error belongs to.

Each error carries a one-line, user-facing message (what, where, how to fix) and the
exit code the command line returns for it. Nothing here formats tracebacks.

    GateError                      exit 2 unless it says otherwise
    ├── UsageError                 the command line, the request or its environment
    │   ├── NothingToGate          no evaluation named
    │   └── NoWorkspace            no Roboflow workspace named
    ├── ConfigError                the config (each problem located)
    │   └── BaseNotAvailable       `baseline: base` with no base branch's config here
    └── ResultsUnavailable         exit 3: results could not be had
        ├── StillRunning           the wait ended while the evaluation ran
        └── NoEvalAppeared         the wait ended before a model's (version's) eval appeared

The inner layers know no face: an error whose fix is a face's setting (the wait; how to name
an evaluation or the workspace) carries its data, and each face says it in its own words,
`error.worded(words)` with the face's `FaceWords` (`--wait` on the command line, the `wait`
input in the Action, the request's `wait` in the service). Unworded, it names them neutrally.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.core.redact import redact_line

if TYPE_CHECKING:
    from gate.core.model import EvalSpec


@dataclass(frozen=True, slots=True)
class FaceWords:
    """How one face (the CLI, the Action, the service) names what its user changes to fix an
    error the engine raises (`GateError.worded`); the defaults name them neutrally."""

    wait: str = "the wait"  # the setting that bounds the wait for a running evaluation
    evals: str = "name the evaluations to gate"  # how to name one, beside the config's evals:
    workspace: str = "name the workspace"  # how to name it, beside the config's workspace:
    base: str = (  # the whole problem: `baseline: base` is not available here
        "baseline: base needs the base branch's config, which only the GitHub Action reads, "
        "on pull requests; name an eval id, auto or champion instead"
    )


NEUTRAL = FaceWords()


class ExitCode(enum.IntEnum):
    """Process exit codes, shared by the CLI and the GitHub Action."""

    OK = 0  # pass or warn
    FAILED = 1  # the gate failed (or warned, with --fail-on warning)
    USAGE = 2  # bad command line, bad config
    UNAVAILABLE = 3  # results could not be had: network, auth, not found, eval failed, timeout
    # A durable gate (`eval-gate status`, the Action with `service-wait`), by its status:
    PENDING = 4  # still queued or waiting when the client stopped waiting for it
    TIMED_OUT = 5  # it ended timed_out: its evaluations were not done within its max_wait
    CANCELLED = 6  # it was cancelled (DELETE), or superseded by a newer gate on its commit
    GATE_ERROR = 7  # it ended in error: it could not run (its error says why)
    INTERNAL = 70  # a bug in eval-gate (EX_SOFTWARE): reported in one line, never a traceback


class GateError(Exception):
    """Base of every error a user can cause; `str()` is the one-line message."""

    exit_code: ExitCode = ExitCode.USAGE

    def worded(self, words: FaceWords) -> GateError:
        """This error as a face says it (`words`): one whose fix is a face's setting names
        the face's; any other is itself."""
        del words
        return self


class UsageError(GateError):
    """The command line or its environment is wrong (missing key, bad flag value...)."""

    exit_code = ExitCode.USAGE


class NothingToGate(UsageError):
    """No evaluation to gate: none named, none in the config, no saved results."""

    def __init__(self, *, words: FaceWords = NEUTRAL) -> None:
        super().__init__(f"no evaluation to gate: {words.evals}, or list evals: in the config")

    def worded(self, words: FaceWords) -> NothingToGate:
        return NothingToGate(words=words)


class NoWorkspace(UsageError):
    """No Roboflow workspace to fetch from: none named, none in the config."""

    def __init__(self, *, words: FaceWords = NEUTRAL) -> None:
        super().__init__(f"no workspace: {words.workspace}, or add workspace: to the config")

    def worded(self, words: FaceWords) -> NoWorkspace:
        return NoWorkspace(words=words)


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

    def worded(self, words: FaceWords) -> ConfigError:
        del words
        return self


class ResultsUnavailable(GateError):
    """Results could not be obtained: network, auth, not found, eval failed, still running."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, eval_id: str | None = None) -> None:
        self.eval_id = eval_id
        super().__init__(message)


class BaseNotAvailable(ConfigError):
    """`baseline: base` where there is no base branch's config to match against: a config
    error on each item that says it (`places`: its file, line and column, or the key)."""

    def __init__(
        self, places: Iterable[tuple[str, int | None, int | None]], *, words: FaceWords = NEUTRAL
    ) -> None:
        self.places = tuple(places)
        super().__init__([Problem(words.base, *place) for place in self.places])

    def worded(self, words: FaceWords) -> BaseNotAvailable:
        return BaseNotAvailable(self.places, words=words)

    @classmethod
    def at(cls, specs: Iterable[EvalSpec]) -> BaseNotAvailable:
        """The error located on each of `specs` (the items asking for `baseline: base`)."""
        return cls(
            (spec.location.source, spec.location.line, spec.location.column)
            if spec.location is not None
            else ("baseline", None, None)
            for spec in specs
        )


class StillRunning(ResultsUnavailable):
    """The wait for an evaluation's results ended while it still ran: `what` is how the
    evaluation was named, `status` Roboflow's last word on it, `wait` the seconds allowed
    and `waited` those spent."""

    def __init__(
        self,
        eval_id: str,
        *,
        what: str,
        status: str,
        wait: float,
        waited: float,
        words: FaceWords = NEUTRAL,
    ) -> None:
        self.what, self.status, self.wait, self.waited = what, status, wait, waited
        super().__init__(
            f"{what} is still {status} after waiting {wait:g} s; raise {words.wait}, or run "
            "the gate again when it is done",
            eval_id=eval_id,
        )

    def worded(self, words: FaceWords) -> StillRunning:
        return StillRunning(
            self.eval_id or "",
            what=self.what,
            status=self.status,
            wait=self.wait,
            waited=self.waited,
            words=words,
        )


class NoEvalAppeared(ResultsUnavailable):
    """The wait for a model's (`by` "model") or dataset version's first evaluation ended
    before Roboflow listed one: `ref` is the model's or version's id."""

    def __init__(
        self, by: str, ref: str, *, wait: float, waited: float, words: FaceWords = NEUTRAL
    ) -> None:
        self.by, self.ref, self.wait, self.waited = by, ref, wait, waited
        super().__init__(
            f"no evaluation of {by} {ref} appeared on Roboflow after waiting {wait:g} s (the "
            f"eval list filtered by {by}={ref} stayed empty); check the {by} id, raise "
            f"{words.wait}, or run the gate again once Roboflow has evaluated it",
            eval_id=None,
        )

    def worded(self, words: FaceWords) -> NoEvalAppeared:
        return NoEvalAppeared(self.by, self.ref, wait=self.wait, waited=self.waited, words=words)


def internal_error_message(error: BaseException, secrets: Iterable[str] = ()) -> str:
    """One line for an unexpected exception: a bug, to be reported (`secrets` masked in its
    text before the text is cut short)."""
    detail = redact_line(str(error), secrets, limit=300)
    return (
        f"internal error ({error.__class__.__name__}: {detail}); this is a bug in eval-gate, "
        "please report it with the command you ran (set EVAL_GATE_DEBUG=1 for a traceback)"
    )
