"""One Action run as one value, handed to every step of it: `ActionContext` (the inputs, the
event, the runner's files and stdout, the run's one GitHub connection and its check run),
`CheckRunState` (the check run, shared by the run and its cancelled or crashed ending) and
`GateRun` (what the gate produced: the outcome or the error, the report built once, the notes
on where the rules came from)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gate.core.gate_id import report_folder
from gate.github.publish import Gated, Target

if TYPE_CHECKING:
    from pathlib import Path

    from gate.action.base_config import ConfigChoice
    from gate.action.event import EventContext
    from gate.action.inputs import ActionSettings
    from gate.action.runner import ActionsIO
    from gate.github.connection import GitHubConnection
    from gate.report.render import ReportModel

__all__ = ["ActionContext", "CheckRunState", "GateRun"]


class CheckRunState:
    """The run's check run, shared by the run and its cancelled and crashed endings (mutable:
    it is created when the step starts and completed once, by whichever ending comes)."""

    __slots__ = ("check_run_id", "completed", "creating", "fallback")

    def __init__(self) -> None:
        self.check_run_id: int | None = None
        self.fallback = False  # creating it failed: set the commit status instead
        self.completed = False
        self.creating: asyncio.Future[None] | None = None  # the create request, while the gate runs

    @property
    def open(self) -> bool:
        """Created and not completed yet."""
        return self.check_run_id is not None and not self.completed

    @property
    def wanted(self) -> bool:
        """Being created, or open: an ending has to complete it."""
        return self.open or (self.creating is not None and not self.completed)

    async def created(self) -> None:
        """Wait for the create request (never cancelling it: a cancelled run still needs its
        id to complete it `cancelled`)."""
        if self.creating is not None:
            await asyncio.shield(self.creating)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """One Action run: what it was given, where it writes, and its one GitHub connection."""

    settings: ActionSettings
    event: EventContext
    io: ActionsIO
    github: GitHubConnection
    check_run: CheckRunState = field(default_factory=CheckRunState)

    @property
    def title(self) -> str:
        """The report's title, the comment's and the check run's."""
        return f"eval-gate · {self.settings.gate_id}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What is masked in everything the run writes or sends."""
        settings = self.settings
        return tuple(
            s for s in (settings.api_key, settings.github_token, settings.service_token) if s
        )

    @property
    def workspace(self) -> Path:
        return self.io.workspace

    @property
    def report_md(self) -> str:
        """The full report's file, relative to the workspace."""
        return f"{report_folder(self.settings.gate_id)}/report.md"

    @property
    def report_json(self) -> str:
        """The JSON report's file, relative to the workspace."""
        return f"{report_folder(self.settings.gate_id)}/report.json"

    @property
    def run_link(self) -> str:
        """Markdown for where this run's job summary is (the full report)."""
        run_url = self.event.run_url
        return f"[this run's job summary]({run_url})" if run_url else "the job summary"

    def target(self) -> Target:
        """Where on GitHub the gate reports; with no check run (creating it failed), the
        commit status shows the verdict instead."""
        settings, event = self.settings, self.event
        return Target(
            repository=event.repository,
            pr_number=event.pr_number,
            sha=event.sha,
            gate_id=settings.gate_id,
            comment=settings.comment,
            commit_status=settings.commit_status or self.check_run.fallback,
            status_context=settings.status_context,
            fail_on=settings.fail_on,
            target_url=event.run_url,
            lookup_pr_by_sha=event.event_name == "workflow_run",
            note=event.note,
        )


@dataclass(frozen=True, slots=True)
class GateRun:
    """What the gate produced: the outcome (or the error that stopped it), its report built once
    (`report`; `full`: rendered whole, secrets masked, with the notes), and the notes the report
    ends with about where the rules came from (Markdown, "" for none)."""

    gated: Gated
    report: ReportModel | None = None
    full: str | None = None
    notes: str = ""
    choice: ConfigChoice | None = None
