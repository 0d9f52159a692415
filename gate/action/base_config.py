"""Thresholds from the base branch: on a pull request, everything that decides the verdict
comes from the config file at the pull request's base commit, so a pull request cannot loosen
the gate that judges it.

`choose_config` decides which config the Action gates with:

- push, schedule, dispatch (any event without a pull request), or the input
  `config-from: workspace`: the checkout's config, as it is;
- a pull request (pull_request, pull_request_target, a workflow_run started by one): the
  checkout's config says what to gate (`evals`, `workspace`), the base commit's says how (its
  `rules`, `require_same_version` and each eval's `baseline`, by the eval's name: every field
  `gate.config.fields` marks `Origin.BASE`, merged by `gate.config.from_base`), read with the
  contents API (`GET /repos/{owner}/{repo}/contents/{path}?ref=`) and the job's token, capped
  at `MAX_CONFIG_BYTES` and validated by the same loader (its problems located as
  `<base>:.github/eval-gate.yml:line:col`). The rules the checkout's config adds, removes or
  changes, and the other such settings it changes, are listed in the report: they take effect
  once merged.
  When the base commit has no such file (the pull request adds it: GitHub's plain 404 for
  the file, and the commit itself confirmed, see `GitHubClient.file_at`), the checkout's
  config is used and the report says so.

Any other failure to read the base's config (403: a token without `contents: read`, a
network error, a folder, a file over the cap, no pull request to be found for a workflow_run,
a 404 that leaves the base commit unknown: `No commit found for the ref …`, or a commit that
does not answer) fails closed: `BaseConfigUnavailable` (exit code 3), never a silent fall back
to the pull request's own rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gate.action.event import EventContext
from gate.config.diff import RuleChanges, rule_changes
from gate.config.fields import EVAL, TOP, Field, Origin
from gate.config.from_base import SettingChange, gated_config, setting_changes
from gate.config.loader import load_config
from gate.core.errors import ConfigError, ExitCode, GateError, Problem
from gate.core.model import GateConfig, IfMissing, Location, Rule, Severity
from gate.core.strict_json import JSONDocumentError, decode_utf8
from gate.engine import BaseEvals
from gate.local.files import MAX_CONFIG_BYTES, read_config, shown_path
from gate.local.options import markdown_table
from gate.report.markdown import md_code

if TYPE_CHECKING:
    from gate.action.inputs import ActionSettings
    from gate.github.api import GitHubError
    from gate.github.client import GitHubClient
    from gate.github.connection import GitHubConnection

__all__ = [
    "BASE_PREFIX",
    "MAX_LISTED_CHANGES",
    "BaseConfigUnavailable",
    "ChangeNotice",
    "ConfigChoice",
    "change_notices",
    "choose_config",
    "config_notes",
    "describe",
    "keys_table",
    "rule_line",
]

BASE_PREFIX = "<base>:"  # a base config's problems: `<base>:.github/eval-gate.yml:3:5`
MAX_LISTED_CHANGES = 20  # rule changes listed in the report; the rest are counted
_RULE_CHARS = 200  # a rule's description in the list, at most
_FIX = "grant contents: read or set config-from: workspace"


class BaseConfigUnavailable(GateError):
    """The base branch's config could not be read: the gate fails closed (exit code 3)."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, reason: str, *, fix: str = _FIX) -> None:
        super().__init__(f"could not read the base branch's config: {reason}; {fix}")


def _unreadable(error: GitHubError) -> BaseConfigUnavailable:
    """A GitHub failure reading the base's config; a 403 already names the permission that
    request lacks (contents or pull requests), so only the way around it is added."""
    from gate.github.api import GitHubForbidden  # noqa: PLC0415

    if isinstance(error, GitHubForbidden):
        return BaseConfigUnavailable(str(error), fix="or set config-from: workspace")
    return BaseConfigUnavailable(str(error))


@dataclass(frozen=True, slots=True)
class ConfigChoice:
    """The config to gate with, and what the report says about where its rules came from."""

    config: GateConfig
    source: str  # "workspace" | "base" | "workspace (no base config)"
    base_sha: str | None = None
    path: str = ""
    changes: RuleChanges = field(default_factory=RuleChanges)
    from_pull_request: bool = True  # the checkout is the PR's (not a workflow_run's checkout)
    base: BaseEvals = field(default_factory=BaseEvals)  # the base's evals, for baseline: base
    # The checkout's rules when `config` holds the base's (source "base"): where they are written
    # in the pull request's file, for annotations.
    checkout_rules: tuple[Rule, ...] = ()
    # The other settings deciding the verdict that the checkout's config changes (source "base").
    settings: tuple[SettingChange, ...] = ()
    # The base's config file as read (source "base"), for a gate sent on to the service.
    base_data: bytes | None = field(default=None, repr=False)

    @property
    def changed(self) -> int:
        """How many rules and settings the checkout's config changes against the base's."""
        return len(self.changes) + len(self.settings)


def _base_source(path: str) -> str:
    return f"{BASE_PREFIX}{path}"


def parse_base_config(data: bytes, path: str) -> GateConfig:
    """The base's config file: decoded and validated like a local one, located in `<base>:`."""
    source = _base_source(path)
    try:
        text = decode_utf8(data)
    except JSONDocumentError as exc:
        problem = Problem(f"{exc.problem}; save the config as UTF-8", source, exc.line, exc.column)
        raise ConfigError([problem]) from None
    return load_config(text, source)


async def _base_sha(github: GitHubClient, event: EventContext) -> str:
    """The pull request's base commit: from the event, else from the pull request itself."""
    from gate.github.api import GitHubError  # noqa: PLC0415

    if event.base_sha is not None:
        return event.base_sha
    assert event.repository is not None
    number = event.pr_number
    try:
        if number is None and event.sha is not None:
            numbers = await github.pulls_for_commit(event.repository, event.sha)
            number = numbers[0] if numbers else None
        if number is None:
            commit = f" for commit {event.sha[:12]}" if event.sha else ""
            raise BaseConfigUnavailable(f"no open pull request found{commit}")
        return await github.pull_base_sha(event.repository, number)
    except GitHubError as error:
        raise _unreadable(error) from None


async def _read_base(
    settings: ActionSettings, event: EventContext, github: GitHubConnection
) -> tuple[bytes | None, str]:
    """The base's config file (None: there is none) and the base commit."""
    from gate.github.api import GitHubError  # noqa: PLC0415

    if event.repository is None:
        raise BaseConfigUnavailable("the event names no repository (GITHUB_REPOSITORY)")
    if not github.token:
        raise BaseConfigUnavailable("no github-token to read it with")
    try:
        client = github.client()
        sha = await _base_sha(client, event)
        data = await client.file_at(
            event.repository, settings.config, sha, max_bytes=MAX_CONFIG_BYTES
        )
    except GitHubError as error:
        raise _unreadable(error) from None
    return data, sha


async def choose_config(
    settings: ActionSettings, event: EventContext, workspace: Path, *, github: GitHubConnection
) -> ConfigChoice:
    """The config to gate with (see the module's docstring). Raises GateError: the checkout's
    config or the base's is invalid (exit 2), or the base's cannot be read (exit 3)."""
    path = workspace / settings.config
    checkout = read_config(path, shown=shown_path(path, workspace))
    if settings.config_from == "workspace":
        reason = "config-from is workspace, so the base branch's config is not read"
        return ConfigChoice(
            checkout, "workspace", path=settings.config, base=BaseEvals(None, reason)
        )
    if not event.is_pull_request:
        name = event.event_name or "this event"
        reason = f"{name} is not a pull request, so there is no base branch"
        return ConfigChoice(
            checkout, "workspace", path=settings.config, base=BaseEvals(None, reason)
        )
    own = event.event_name != "workflow_run"
    data, sha = await _read_base(settings, event, github)
    if data is None:
        reason = f"the base commit {sha[:12]} has no {settings.config}"
        return ConfigChoice(
            checkout,
            "workspace (no base config)",
            base_sha=sha,
            path=settings.config,
            from_pull_request=own,
            base=BaseEvals(None, reason),
        )
    base = parse_base_config(data, settings.config)
    return ConfigChoice(
        gated_config(base, checkout),
        "base",
        base_sha=sha,
        path=settings.config,
        changes=rule_changes(base, checkout),
        from_pull_request=own,
        base=BaseEvals(base.evals),
        checkout_rules=checkout.rules,
        settings=setting_changes(base, checkout),
        base_data=data,
    )


def rule_line(choice: ConfigChoice, rule_index: int) -> int | None:
    """The line of the checkout's config (`choice.path`) where rule `rule_index` of the rules
    gating this run is written: for the base's rules, the line of the same rule in the
    checkout (or of the checkout's version of a rule the pull request changes); None for a
    rule the pull request removes, or one without a line."""
    rules = choice.config.rules
    if not 0 <= rule_index < len(rules):
        return None
    rule = rules[rule_index]
    written: Rule | None = rule
    if choice.source == "base":
        changed = [c for c in choice.changes.changes if c.before is rule]
        if changed:
            written = changed[0].after
        else:
            written = next((r for r in choice.checkout_rules if r == rule), None)
    if written is None or written.location is None:
        return None
    return written.location.line


# --- what the report says --------------------------------------------------------------------


def _where(rule: Rule, path: str | None = None) -> str:
    """` (file:line:col)`; `path` replaces the source (the checkout's, relative to the root)."""
    if rule.location is None:
        return ""
    location = rule.location if path is None else replace(rule.location, source=path)
    return f" ({md_code(str(location))})"


def describe(rule: Rule) -> str:
    """`Rule.describe()`, and its severity and `if_missing` when they are not the defaults."""
    text = rule.describe()
    if rule.severity is not Severity.ERROR:
        text += f" severity {rule.severity.value}"
    if rule.if_missing is not IfMissing.FAIL:
        text += f" if_missing {rule.if_missing.value}"
    return text


def _rule(rule: Rule) -> str:
    text = describe(rule)
    return md_code(text if len(text) <= _RULE_CHARS else text[: _RULE_CHARS - 1] + "…")


def _change_line(before: Rule | None, after: Rule | None, path: str) -> str:
    if before is None:
        assert after is not None
        return f"- added: {_rule(after)}{_where(after, path)}"
    if after is None:
        return f"- removed: {_rule(before)}{_where(before)}"
    return f"- changed: {_rule(before)} → {_rule(after)}{_where(after, path)}"


def _setting(change: SettingChange, value: object) -> str:
    text = change.describe(value)
    return md_code(text if len(text) <= _RULE_CHARS else text[: _RULE_CHARS - 1] + "…")


def _in_checkout(location: Location | None) -> bool:
    return location is not None and not location.source.startswith(BASE_PREFIX)


def _setting_line(change: SettingChange, path: str) -> str:
    where = ""
    if change.location is not None:
        location = change.location
        if _in_checkout(location):  # the checkout's file, relative to the root
            location = replace(location, source=path)
        where = f" ({md_code(str(location))})"
    return f"- changed: {_setting(change, change.before)} → {_setting(change, change.after)}{where}"


def _counted(rules: int, settings: int) -> str:
    """`2 rules`, `1 verdict setting`, `1 rule and 2 verdict settings`."""
    parts = [f"{rules} rule{'s' if rules != 1 else ''}"] if rules else []
    if settings:
        parts.append(f"{settings} verdict setting{'s' if settings != 1 else ''}")
    return " and ".join(parts)


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """An annotation for a rule or verdict setting the pull request changes: on `line` of the
    checkout's config (None: no line of it, e.g. a removed rule)."""

    title: str
    message: str
    line: int | None


def change_notices(choice: ConfigChoice) -> tuple[ChangeNotice, ...]:
    """A notice per rule, then per verdict setting, the checkout's config changes."""
    notices = []
    for change in choice.changes.changes:
        rule = change.after or change.before
        assert rule is not None
        after = change.after
        notices.append(
            ChangeNotice(
                "eval-gate: rule changed",
                f"rule {change.kind}: {describe(rule)}; it takes effect after merge (this run "
                "is judged by the base branch's rules)",
                after.location.line if after is not None and after.location is not None else None,
            )
        )
    for setting in choice.settings:
        location = setting.location
        notices.append(
            ChangeNotice(
                "eval-gate: setting changed",
                f"verdict setting changed: {setting.describe(setting.before)} → "
                f"{setting.describe(setting.after)}; it takes effect after merge (this run is "
                "judged by the base branch's value)",
                location.line if location is not None and _in_checkout(location) else None,
            )
        )
    return tuple(notices)


def config_notes(choice: ConfigChoice) -> str:
    """The Markdown the report ends with about where the rules came from ("" when there is
    nothing to say: the checkout's config on a push, or `config-from: workspace`)."""
    if choice.source == "workspace":
        return ""
    path = md_code(choice.path)
    commit = md_code(choice.base_sha[:12]) if choice.base_sha else "its base commit"
    if choice.source != "base":
        return (
            f"\n### Rules\n\nThe base commit {commit} has no {path}: this pull request adds "
            "it, so its own rules are used.\n"
        )
    lines = [f"\n### Rules\n\nThe rules are the base commit's ({path} at {commit})."]
    if choice.changed:
        count = choice.changed
        what = _counted(len(choice.changes), len(choice.settings))
        plural = "s" if count != 1 else ""
        if choice.from_pull_request:
            lines.append(
                f"This pull request changes {what}; the change{plural} take"
                f"{'' if plural else 's'} effect after merge:"
            )
        else:
            lines.append(
                f"The checked-out config differs from the base's in {what}, not used here:"
            )
        lines.append("")
        shown = choice.changes.changes[:MAX_LISTED_CHANGES]
        lines.extend(_change_line(c.before, c.after, choice.path) for c in shown)
        settings = choice.settings[: MAX_LISTED_CHANGES - len(shown)]
        lines.extend(_setting_line(c, choice.path) for c in settings)
        if count > len(shown) + len(settings):
            lines.append(f"- … and {count - len(shown) - len(settings)} more")
    return "\n".join(lines) + "\n"


# --- what the docs say (docs/action/base-branch.md) ---------------------------------------------


def _origin(key: Field, *, in_eval: bool = False) -> str:
    if key.origin is Origin.CHECKOUT:
        return "the checkout's config"
    if key.name == "rules":
        return "the base commit's config, every rule whole"
    if in_eval:
        return "the base commit's config: its eval of the same name (none there: no baseline)"
    return "the base commit's config"


def keys_table() -> str:
    """docs/action/base-branch.md's table of where each config key comes from with
    `config-from: base` on a pull request (section "Which keys come from where"), from the
    fields' `Origin`."""
    rows: list[tuple[str, str]] = []
    for top in TOP.fields:
        if top.name != "evals":
            rows.append((f"`{top.name}`", _origin(top)))
            continue
        rows.append(("`evals` (which evaluations)", _origin(top)))
        rows.extend((f"`evals[].{f.name}`", _origin(f, in_eval=True)) for f in EVAL.fields)
    return markdown_table(("key", "comes from"), rows)
