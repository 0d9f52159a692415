"""The Markdown shown where a report would be when there is no verdict: the gate could not run
(`error_report`: the error's lines, escaped and with secrets masked; `crash_report`: one line
of a run that failed on its way), or the run was cancelled before it finished
(`cancelled_report`)."""

from __future__ import annotations

from gate.core.errors import ConfigError, ExitCode, GateError
from gate.core.redact import redact
from gate.report.markdown import md_code, md_text, md_url, public_url

__all__ = ["cancelled_report", "crash_report", "error_lines", "error_report"]


def error_lines(error: GateError) -> list[str]:
    """What the error says, a line each: every problem of a config error, else its message."""
    return error.lines() if isinstance(error, ConfigError) else [str(error)]


def error_report(error: GateError, title: str, secrets: tuple[str, ...]) -> str:
    """The Markdown shown instead of a report when the gate could not run."""
    items = "\n".join(f"- {md_text(redact(line, secrets))}" for line in error_lines(error))
    kind = "configuration error" if error.exit_code == ExitCode.USAGE else "results unavailable"
    return (
        f"## 🚫 {md_text(title)}: **could not run** ({kind})\n\n{items}\n\n"
        "No verdict: the gate fails closed until this is fixed.\n"
    )


def crash_report(title: str, line: str) -> str:
    """The Markdown of a run that could not finish: its one line (secrets already masked)."""
    return f"## 🚫 {md_text(title)}: **could not run**\n\n{md_text(line)}\n"


def cancelled_report(title: str, *, sha: str | None = None, run_url: str | None = None) -> str:
    """The Markdown that replaces a verdict when the run was cancelled before it finished."""
    link = public_url(run_url)
    run = f"[The workflow run]({md_url(link)})" if link else "The workflow run"
    commit = f" for commit {md_code(sha[:12])}" if sha else ""
    return (
        f"## ⏹️ {md_text(title)}: **cancelled**\n\n"
        f"{run} was cancelled before the gate finished: there is no verdict{commit}. "
        "Re-run the job to gate this pull request.\n"
    )
