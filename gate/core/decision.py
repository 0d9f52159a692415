"""The one decision a verdict makes under `fail-on`, which every output reads.

A gate's verdict (pass, warn, fail; or none: the gate could not run) and the `fail-on` setting
decide, once, here: whether the gate passed, the exit code, the commit status's state and
description, the check run's conclusion and title. The CLI, the Action (its exit code and
outputs, the sticky comment's `on-failure`, the commit status, the check run), the JSON and
the service's `exit_code` all read a `Decision`, so no two of them can disagree.

The rule:

- The gate **passed** when the verdict is `pass`, or `warn` unless `fail-on: warning`. A gate
  that could not run never passed. `fail-on: never` judges like `error` does.
- The **exit code** is 1 when the gate did not pass, except under `fail-on: never` (report
  only: 0 whatever the verdict); a gate that could not run exits with its error's code (2, 3).
- The **commit status** is `success` when the gate passed, `failure` when it did not, `error`
  when it could not run. Under `fail-on: never` a failing verdict is still `failure`: what
  branch protection reads never says a failing gate passed.
- The **check run** is `success` for `pass`, `neutral` for a warning that passed, `failure`
  otherwise (as the commit status, which it stands in for).

Pure: values in, values out. `decision_table()` renders docs/reports.md's table from `decide`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from gate.core.errors import ExitCode
from gate.core.model import FailOn
from gate.core.outcome import Check, Status, Verdict

__all__ = [
    "CheckRunConclusion",
    "Decision",
    "StatusState",
    "Tally",
    "decide",
    "decision_table",
]


class StatusState(enum.StrEnum):
    """The commit status states eval-gate sets."""

    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"  # the gate could not run


class CheckRunConclusion(enum.StrEnum):
    """The check run conclusions eval-gate sets for a finished gate."""

    SUCCESS = "success"
    NEUTRAL = "neutral"  # a warning the gate lets through
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class Tally:
    """How many checks a gate made, failed (fail or error) and warned: the wording's numbers."""

    total: int
    failed: int
    warned: int

    @classmethod
    def of(cls, checks: Iterable[Check]) -> Tally:
        total = failed = warned = 0
        for check in checks:
            total += 1
            failed += check.failing
            warned += check.status is Status.WARN
        return cls(total, failed, warned)


@dataclass(frozen=True, slots=True)
class Decision:
    """What a verdict means under `fail_on`, for every output."""

    verdict: Verdict | None  # None: the gate could not run
    fail_on: FailOn
    passed: bool  # the Action's `passed`, the comment's `on-failure`
    exit_code: ExitCode  # the CLI's and the Action's; the service's `exit_code`
    status: StatusState  # the commit status's state
    conclusion: CheckRunConclusion  # the check run's

    @property
    def warnings_fail(self) -> bool:
        """Whether the gate failed on warnings alone (`fail-on: warning`)."""
        return self.verdict is Verdict.WARN and not self.passed

    def description(self, tally: Tally) -> str:
        """The verdict in a few words, for the commit status: `2 of 9 checks failed`,
        `passed with 1 warning (9 checks)`, `failed on 1 warning under fail-on: warning (9
        checks)`, `all 9 checks passed`. (A gate that could not run says its error instead.)"""
        plural = "s" if tally.warned != 1 else ""
        if self.verdict is Verdict.FAIL:
            return f"{tally.failed} of {tally.total} checks failed"
        if self.warnings_fail:
            return (
                f"failed on {tally.warned} warning{plural} under fail-on: {self.fail_on} "
                f"({tally.total} checks)"
            )
        if self.verdict is Verdict.WARN:
            return f"passed with {tally.warned} warning{plural} ({tally.total} checks)"
        return f"all {tally.total} checks passed"

    def title(self, tally: Tally) -> str:
        """The verdict line, for the check run: `Failed: 2 of 9 checks failed`, `Passed with 1
        warning (9 checks)`, `Failed on 1 warning under fail-on: warning (9 checks)`, `Passed:
        all 9 checks passed`."""
        text = self.description(tally)
        if self.verdict is Verdict.FAIL:
            return f"Failed: {text}"
        if self.verdict is Verdict.PASS:
            return f"Passed: {text}"
        return text[0].upper() + text[1:]


def decide(
    verdict: Verdict | None, fail_on: str, *, error_code: ExitCode = ExitCode.UNAVAILABLE
) -> Decision:
    """The decision for `verdict` (None: the gate could not run, with exit code `error_code`)
    under `fail_on` (a FailOn: error, warning, never). Raises ValueError for another fail_on."""
    when = FailOn(fail_on)
    if verdict is None:
        return Decision(
            verdict=None,
            fail_on=when,
            passed=False,
            exit_code=error_code,
            status=StatusState.ERROR,
            conclusion=CheckRunConclusion.FAILURE,
        )
    passed = verdict is Verdict.PASS or (verdict is Verdict.WARN and when is not FailOn.WARNING)
    if passed:
        return Decision(
            verdict=verdict,
            fail_on=when,
            passed=True,
            exit_code=ExitCode.OK,
            status=StatusState.SUCCESS,
            conclusion=(
                CheckRunConclusion.SUCCESS
                if verdict is Verdict.PASS
                else CheckRunConclusion.NEUTRAL
            ),
        )
    return Decision(
        verdict=verdict,
        fail_on=when,
        passed=False,
        exit_code=ExitCode.OK if when is FailOn.NEVER else ExitCode.FAILED,
        status=StatusState.FAILURE,
        conclusion=CheckRunConclusion.FAILURE,
    )


def decision_table() -> str:
    """docs/reports.md's table: for each verdict and fail-on, what every output says."""
    rows = [
        "| verdict | `fail-on` | exit code | `passed` | commit status | check run |",
        "|---|---|--:|---|---|---|",
    ]
    for verdict in Verdict:
        for fail_on in FailOn:
            found = decide(verdict, fail_on)
            rows.append(
                f"| `{verdict}` | `{fail_on}` | {int(found.exit_code)} "
                f"| `{str(found.passed).lower()}` | `{found.status}` | `{found.conclusion}` |"
            )
    # A gate that could not run: the same whatever fail-on says (a test checks it).
    found = decide(None, FailOn.ERROR)
    rows.append(
        f"| could not run | any | 2 or 3 | `{str(found.passed).lower()}` | `{found.status}` "
        f"| `{found.conclusion}` |"
    )
    return "\n".join(rows) + "\n"
