"""What the history pages show, built from stored gates: pure values in, plain values out.

No aiohttp, no database, no template here: the routes read the store and hand its rows to these
functions with the time (`now_ms`) and GitHub's web address; the templates lay the result out
(with autoescape on, so every text here is plain text, never markup). A link is built only from
values that were checked to be what they claim (a repository `owner/name`, a positive number, an
https address); anything else is shown as text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from gate.store.ids import GATE_ID
from gate.store.values import ACTIVE, STATUSES, GateRow

__all__ = [
    "MAX_CURSOR_CHARS",
    "VERDICTS",
    "EvalView",
    "Filters",
    "GateView",
    "HeadlineView",
    "ListView",
    "duration_text",
    "evaluations_of",
    "gate_view",
    "list_view",
    "parse_filters",
    "repository_ok",
    "safe_next",
]

VERDICTS = ("pass", "warn", "fail")
MAX_CURSOR_CHARS = 128
MAX_PULL_NUMBER = 2**31 - 1
MAX_EVALS_SHOWN = 100  # a gate has at most 100 evaluations (the API's bound); never show more
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_REPOSITORY = re.compile(rf"{_OWNER}/{_NAME}")
_NEXT = re.compile(r"/ui/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")
_STATUS_WORDS = {
    "queued": "queued",
    "waiting": "waiting",
    "done": "done",
    "error": "error",
    "timed_out": "timed out",
    "cancelled": "cancelled",
    "superseded": "superseded",
}
MINUS = "\u2212"


def repository_ok(repository: str | None) -> bool:
    """Whether `repository` is a GitHub `owner/name` (and so may become part of a link)."""
    if repository is None or not _REPOSITORY.fullmatch(repository):
        return False
    return repository.split("/", 1)[1] not in (".", "..")


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of these pages, else the list (never another site,
    never `//host`, never a backslash or a control character)."""
    if target and _NEXT.fullmatch(target) and "//" not in target and len(target) <= 2048:
        return target
    return "/ui/"


# --- the list's filters -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters as the form sent them, checked; `problems` says what was not valid
    (and that filter is then not applied)."""

    repository: str = ""
    pull: str = ""
    status: str = ""
    verdict: str = ""
    cursor: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def pull_number(self) -> int | None:
        return int(self.pull) if self.pull else None

    def query(self, *, cursor: str | None = None) -> str:
        """The list's query string for these filters (and a page's cursor)."""
        pairs = [
            (name, value)
            for name, value in (
                ("repository", self.repository),
                ("pull", self.pull),
                ("status", self.status),
                ("verdict", self.verdict),
                ("cursor", cursor or ""),
            )
            if value
        ]
        return urlencode(pairs)

    @property
    def active(self) -> bool:
        return bool(self.repository or self.pull or self.status or self.verdict)


def parse_filters(params: Mapping[str, str]) -> Filters:
    """The list page's query (`repository`, `pull`, `status`, `verdict`, `cursor`), checked.
    A pull request needs its repository: numbers are per repository, and the pair is indexed."""
    problems: list[str] = []
    repository = params.get("repository", "").strip()
    if repository and not repository_ok(repository):
        problems.append("repository: write it as owner/name, e.g. octo-org/octo-repo")
        repository = ""
    pull = params.get("pull", "").strip().lstrip("#")
    if pull:
        if not (pull.isascii() and pull.isdigit() and 0 < int(pull) <= MAX_PULL_NUMBER):
            problems.append("pull request: a number, e.g. 42")
            pull = ""
        elif not repository:
            problems.append("pull request: give its repository too (numbers are per repository)")
            pull = ""
        else:
            pull = str(int(pull))
    status = params.get("status", "").strip()
    if status and status not in STATUSES:
        problems.append(f"status: one of {', '.join(STATUSES)}")
        status = ""
    verdict = params.get("verdict", "").strip()
    if verdict and verdict not in VERDICTS:
        problems.append(f"verdict: one of {', '.join(VERDICTS)}")
        verdict = ""
    cursor = params.get("cursor", "").strip() or None
    if cursor is not None and (len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii()):
        problems.append("page: this page link is not valid; start again from the newest")
        cursor = None
    return Filters(repository, pull, status, verdict, cursor, tuple(problems))


# --- one gate ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeadlineView:
    """The headline metric: its value, the baseline's, and the difference (text, signed)."""

    metric: str
    value: str
    baseline: str | None
    delta: str | None
    direction: str  # "up", "down", "same" or "" (no delta): a CSS class

    @property
    def summary(self) -> str:
        text = f"{self.metric} {self.value}"
        if self.delta is not None and self.baseline is not None:
            text += f" (\u0394 {self.delta} vs {self.baseline})"
        return text


@dataclass(frozen=True, slots=True)
class EvalView:
    """One evaluation of a gate: what to call it, and its Roboflow page if one is known."""

    label: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class GateView:
    """One gate, as the list's row and the gate page's header show it."""

    id: str
    page_url: str
    status: str
    status_text: str
    outcome: str  # the badge: the verdict when there is one, else the status
    outcome_class: str
    active: bool
    repository: str | None
    repository_url: str | None
    pull_number: int | None
    pull_url: str | None
    check_run_url: str | None
    sha: str | None
    short_sha: str | None
    gate_name: str | None
    created_text: str
    created_iso: str
    finished_text: str | None
    waited: str
    headline: HeadlineView | None
    evaluations: tuple[EvalView, ...]
    error: str | None
    runs: int
    superseded_by: str | None
    waiting_for: tuple[str, ...] = field(default_factory=tuple)

    @property
    def evaluations_short(self) -> str:
        """The evaluations for a list row: the first three, then how many more."""
        labels = [e.label for e in self.evaluations]
        if len(labels) <= 3:
            return ", ".join(labels) or "\u2014"
        return f"{', '.join(labels[:3])} and {len(labels) - 3} more"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _number(value: float) -> str:
    text = f"{value:.3f}" if abs(value) < 1000 else f"{value:,.1f}"
    return text.replace("-", MINUS)


def headline_view(headline: Any) -> HeadlineView | None:
    """The stored headline (`{metric, value, baseline, delta}`) for a page; None when there is
    none, or no metric or value a page can show (never a made-up number)."""
    if not isinstance(headline, Mapping):
        return None
    metric = headline.get("metric")
    value = _finite(headline.get("value"))
    if not isinstance(metric, str) or not metric.strip() or value is None:
        return None
    baseline = _finite(headline.get("baseline"))
    delta = _finite(headline.get("delta"))
    if delta is None and baseline is not None:
        delta = value - baseline
    if delta is None or baseline is None:
        return HeadlineView(metric[:100], _number(value), None, None, "")
    rounded = round(delta, 3)
    if rounded == 0:
        direction, delta_text = "same", "\u00b1" + _number(0.0)
    else:
        direction = "up" if rounded > 0 else "down"
        delta_text = ("+" if rounded > 0 else "") + _number(delta)
    return HeadlineView(metric[:100], _number(value), _number(baseline), delta_text, direction)


def duration_text(ms: int) -> str:
    """A duration for a person: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`."""
    seconds = max(0, ms) // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _time(ms: int) -> tuple[str, str]:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC"), moment.isoformat(timespec="seconds")


def _https_url(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 2048:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return value


def _text(value: Any, limit: int = 200) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:limit]
    return None


def evaluations_of(gate: GateRow) -> tuple[EvalView, ...]:
    """What a gate gated: the evaluations its result names (with their Roboflow pages), else
    those its request asked for (`id`, a model's or a version's newest), else nothing known
    yet (those of a config's `evals:` are learnt when it runs)."""
    found: list[EvalView] = []
    result = gate.result if isinstance(gate.result, Mapping) else {}
    evals = result.get("evals")
    if isinstance(evals, list) and evals:
        for item in evals[:MAX_EVALS_SHOWN]:
            if not isinstance(item, Mapping):
                continue
            label = _text(item.get("label")) or _text(item.get("id")) or "?"
            found.append(EvalView(label, _https_url(item.get("url"))))
        return tuple(found)
    request = gate.request if isinstance(gate.request, Mapping) else {}
    asked = request.get("evals")
    if isinstance(asked, list):
        for item in asked[:MAX_EVALS_SHOWN]:
            if isinstance(item, str) and item.strip():
                found.append(EvalView(item.strip()[:200]))
            elif isinstance(item, Mapping):
                name = _text(item.get("name"))
                for key, word in (("id", ""), ("model", "model "), ("version", "version ")):
                    ref = _text(item.get(key))
                    if ref is not None:
                        label = f"{word}{ref}"
                        found.append(EvalView(f"{name} ({label})" if name else label))
                        break
    return tuple(found)


def _waiting_for(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(t for t in (_text(v) for v in value[:MAX_EVALS_SHOWN]) if t)


def gate_view(gate: GateRow, *, now_ms: int, github_web_url: str) -> GateView:
    """One stored gate as the pages show it (`now_ms`: how long an active gate has waited)."""
    active = gate.status in ACTIVE
    verdict = gate.verdict if gate.verdict in VERDICTS else None
    status_text = _STATUS_WORDS.get(gate.status, gate.status[:20])
    outcome = verdict or status_text
    if verdict is not None:
        outcome_class = verdict
    else:
        outcome_class = gate.status.replace("_", "-") if gate.status in STATUSES else "other"
    repository_url = pull_url = check_run_url = None
    if repository_ok(gate.repository):
        repository_url = f"{github_web_url}/{quote(str(gate.repository), safe='/')}"
        if gate.pull_number is not None and 0 < gate.pull_number <= MAX_PULL_NUMBER:
            pull_url = f"{repository_url}/pull/{gate.pull_number}"
        if gate.check_run_id is not None and gate.check_run_id > 0:
            check_run_url = f"{repository_url}/runs/{gate.check_run_id}"
    created_text, created_iso = _time(gate.created_at)
    if gate.finished_at is not None:
        finished_text: str | None = _time(gate.finished_at)[0]
        waited = duration_text(gate.finished_at - gate.created_at)
    else:
        finished_text = None
        waited = f"waiting {duration_text(now_ms - gate.created_at)}" if active else "\u2014"
    sha = gate.sha if gate.sha and re.fullmatch(r"[0-9a-fA-F]{4,64}", gate.sha) else None
    return GateView(
        id=gate.id,
        page_url=f"/ui/gates/{gate.id}" if GATE_ID.fullmatch(gate.id) else "/ui/",
        status=gate.status,
        status_text=status_text,
        outcome=outcome,
        outcome_class=outcome_class,
        active=active,
        repository=gate.repository,
        repository_url=repository_url,
        pull_number=gate.pull_number,
        pull_url=pull_url,
        check_run_url=check_run_url,
        sha=sha,
        short_sha=sha[:7] if sha else None,
        gate_name=gate.gate_name,
        created_text=created_text,
        created_iso=created_iso,
        finished_text=finished_text,
        waited=waited,
        headline=headline_view(gate.headline),
        evaluations=evaluations_of(gate),
        error=gate.error[:1000] if gate.error else None,
        runs=gate.runs,
        superseded_by=gate.superseded_by,
        waiting_for=_waiting_for(gate.waiting_for) if active else (),
    )


# --- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListView:
    """A page of the list: its gates, the filters, and the links to the newest and next page."""

    gates: tuple[GateView, ...]
    filters: Filters
    next_url: str | None
    first_url: str | None  # None on the first page
    statuses: tuple[str, ...] = STATUSES
    verdicts: tuple[str, ...] = VERDICTS


def list_view(
    rows: Sequence[GateRow],
    filters: Filters,
    next_cursor: str | None,
    *,
    now_ms: int,
    github_web_url: str,
) -> ListView:
    """One page of gates (newest first, as the store lists them) for the list page."""
    gates = tuple(gate_view(g, now_ms=now_ms, github_web_url=github_web_url) for g in rows)
    next_url = f"/ui/?{filters.query(cursor=next_cursor)}" if next_cursor else None
    first_url = None
    if filters.cursor is not None:
        query = filters.query()
        first_url = f"/ui/?{query}" if query else "/ui/"
    return ListView(gates, filters, next_url, first_url)
