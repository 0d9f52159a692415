"""What a durable gate's check run and commit status say in each of its states (pure).

The check run: `queued` until the worker first looks, `in_progress` while it waits (the summary
lists what for, and until when), then completed: the verdict's conclusion and title from the
one decision (gate.core.decision) with the report as summary; `failure` when the gate could not
run, `timed_out` when `max_wait` passed, `cancelled`, `neutral` when superseded. The commit
status follows: `pending` while the gate waits, the decision's state when done, `error` when it
ended without a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gate.api.gates import iso_time
from gate.core.decision import Decision, Tally, decide
from gate.core.gate_id import status_context
from gate.core.outcome import Verdict
from gate.core.redact import redact_line
from gate.core.text import one_line

__all__ = [
    "CheckRunText",
    "StepView",
    "check_run_name",
    "check_run_text",
    "commit_status_text",
    "rerun_text",
    "result_decision",
]

CHECK_RUN_TEXT_MAX = 65535
TITLE_MAX = 255
STATUS_DESCRIPTION_MAX = 140
NO_VERDICT_CONCLUSIONS = {
    "error": "failure",
    "timed_out": "timed_out",
    "cancelled": "cancelled",
    "superseded": "neutral",
}


class StepView(Protocol):
    """What the texts read of a gate (`gate.store.GateRow` is one)."""

    @property
    def status(self) -> str: ...
    @property
    def waiting_for(self) -> Any: ...
    @property
    def deadline_at(self) -> int: ...
    @property
    def result(self) -> Any: ...
    @property
    def report(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def superseded_by(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class CheckRunText:
    """The check run as one state of the gate shows it."""

    status: str  # queued, in_progress, completed
    conclusion: str | None
    title: str
    summary: str


def check_run_name(gate_name: str | None, context: str = "") -> str:
    """The check run's name: the status context (default `eval-gate/<gate id>`)."""
    return context or status_context(gate_name or "default")


def result_decision(result: Any) -> tuple[Decision, Tally] | None:
    """The decision and tally a done gate's result document says (None if it says none)."""
    if not isinstance(result, dict):
        return None
    counts, decision = result.get("counts"), result.get("decision")
    if not isinstance(counts, dict) or not isinstance(decision, dict):
        return None
    try:
        verdict = Verdict(str(result.get("verdict")))
        made = decide(verdict, str(decision.get("fail_on")))
        tally = Tally(
            int(counts["total"]), int(counts["fail"]) + int(counts["error"]), int(counts["warn"])
        )
    except (KeyError, TypeError, ValueError):
        return None
    return made, tally


def _summary(text: str) -> str:
    if len(text) <= CHECK_RUN_TEXT_MAX:
        return text
    return text[: CHECK_RUN_TEXT_MAX - 1] + "…"


def _waiting_lines(gate: StepView) -> list[str]:
    lines = gate.waiting_for if isinstance(gate.waiting_for, list) else []
    return [str(line) for line in lines]


def check_run_text(gate: StepView) -> CheckRunText:
    """The check run for the gate's state."""
    if gate.status == "queued":
        return CheckRunText(
            "queued",
            None,
            "Queued",
            "eval-gate will look at this gate's evaluations shortly, then wait for any still "
            "running. The verdict replaces this when it is done.",
        )
    if gate.status == "waiting":
        lines = _waiting_lines(gate)
        count = len(lines)
        what = f"{count} evaluation{'s' if count != 1 else ''}" if count else "the evaluations"
        items = "".join(f"- {line}\n" for line in lines)
        return CheckRunText(
            "in_progress",
            None,
            one_line(f"Waiting for {what}", limit=TITLE_MAX),
            _summary(
                f"eval-gate is waiting for:\n\n{items}\n"
                f"It gates them as soon as they are done, and gives up at "
                f"{iso_time(gate.deadline_at)} (`max_wait`)."
            ),
        )
    report = gate.report or ""
    if gate.status == "done":
        decided = result_decision(gate.result)
        if decided is not None:
            decision, tally = decided
            return CheckRunText(
                "completed",
                decision.conclusion.value,
                one_line(decision.title(tally), limit=TITLE_MAX),
                _summary(report),
            )
    error = gate.error or "the gate ended without a verdict"
    titles = {
        "timed_out": "Timed out waiting for the evaluations",
        "cancelled": "Cancelled",
        "superseded": f"Superseded by {(gate.superseded_by or '')[:7] or 'a newer commit'}",
    }
    title = titles.get(gate.status, f"Could not run: {error}")
    return CheckRunText(
        "completed",
        NO_VERDICT_CONCLUSIONS.get(gate.status, "failure"),
        one_line(title, limit=TITLE_MAX),
        _summary(report or error),
    )


def rerun_text(phase: str) -> CheckRunText:
    """The check run of a gate re-run ("Re-run" on it): `queued`, then `in_progress` while
    its evaluations are looked at again."""
    if phase == "queued":
        return CheckRunText(
            "queued",
            None,
            "Re-run requested",
            "eval-gate will look at this gate's evaluations again shortly. The new verdict "
            "replaces this when it is done.",
        )
    return CheckRunText(
        "in_progress",
        None,
        "Running again",
        "eval-gate is looking at this gate's evaluations again (the same request, the "
        "evaluations as they are now). The new verdict replaces this when it is done.",
    )


def commit_status_text(gate: StepView, secrets: tuple[str, ...] = ()) -> tuple[str, str]:
    """The commit status's state and description (at most 140 characters) for the gate."""
    if gate.status in ("queued", "waiting"):
        count = len(_waiting_lines(gate))
        text = (
            f"waiting for {count} evaluation{'s' if count != 1 else ''}"
            if count
            else "queued: looking at the evaluations"
        )
        return "pending", text
    if gate.status == "done":
        decided = result_decision(gate.result)
        if decided is not None:
            decision, tally = decided
            return decision.status.value, one_line(
                decision.description(tally), limit=STATUS_DESCRIPTION_MAX
            )
    words = {
        "timed_out": "timed out waiting for the evaluations",
        "cancelled": "cancelled before a verdict",
        "superseded": "superseded by a newer commit",
    }
    text = words.get(gate.status) or f"eval-gate could not run: {gate.error or 'no verdict'}"
    return "error", redact_line(text, secrets, limit=STATUS_DESCRIPTION_MAX)
