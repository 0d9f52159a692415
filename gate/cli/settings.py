"""Settings of `eval-gate check`, built from parsed arguments and an environ mapping passed in.

The flags are declared once (`FLAGS`, plus `log_flags`): the argument parser, `--help`, the
reader that collects every problem and the table of options in docs/command-line.md
(`flags_table`, written by tools/docs_tables.py) come from that declaration.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.core.errors import UsageError
from gate.core.model import FAIL_ON, FailOn
from gate.fetch import MIN_POLL_INTERVAL
from gate.local.files import MAX_RESULTS_FILES, ResultsFile, shown_path
from gate.local.options import Option, markdown_table
from gate.local.sources import cleartext_key_warning
from gate.report.render import DEFAULT_MAX_CHARS
from gate.roboflow.api import DEFAULT_API_URL

DEFAULT_CONFIGS = ("eval-gate.yml", ".github/eval-gate.yml")
MIN_MAX_CHARS = 1000


@dataclass(frozen=True, slots=True)
class CheckSettings:
    config_path: Path
    config_shown: str | None = None  # the config as the user knows it (relative to the cwd)
    eval_ids: tuple[str, ...] = ()
    baseline: str | None = None
    models: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    results: tuple[ResultsFile, ...] = ()
    workspace: str | None = None
    api_url: str = DEFAULT_API_URL
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 8
    timeout: float = 30.0
    wait: float = 600.0
    poll_interval: float = 10.0
    deadline: float | None = None  # None: wait + 120 s
    max_chars: int = DEFAULT_MAX_CHARS
    report_path: Path | None = None
    json_path: Path | None = None
    junit_path: Path | None = None
    quiet: bool = False
    fail_on: str = "error"
    title: str = "eval-gate"
    warnings: tuple[str, ...] = ()  # one line each, for the entry point to show

    @property
    def effective_deadline(self) -> float:
        return self.deadline if self.deadline is not None else self.wait + 120.0

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.api_key,) if self.api_key else ()


def find_config(explicit: str | None, cwd: Path) -> Path:
    """The config file to use: the one named, else the first default that exists."""
    if explicit is not None:
        path = cwd / explicit
        if path.is_dir():
            raise UsageError(
                f"config file {explicit} is a directory, not a file; point --config at the "
                "YAML file (e.g. eval-gate.yml)"
            )
        if not path.exists():
            raise UsageError(f"config file {explicit} not found; check --config")
        # Not only regular files: /dev/stdin or a pipe is read too (capped, see run.py).
        return path
    for name in DEFAULT_CONFIGS:
        if (cwd / name).is_file():
            return cwd / name
    raise UsageError(
        "no config found: create eval-gate.yml or .github/eval-gate.yml (see "
        "docs/configuration.md), or pass --config PATH"
    )


def parse_results_arg(value: str, cwd: Path) -> list[ResultsFile]:
    """`PATH` (the file's stem is the eval id), `ID=PATH`, or a folder of `*.json` files."""
    eval_id, sep, rest = value.partition("=")
    if sep and eval_id and "/" not in eval_id and not (cwd / value).exists():
        return [ResultsFile(eval_id, cwd / rest)]
    path = cwd / value
    if path.is_dir():
        # Listed lazily and only this far: a folder of a million files is refused, not sorted.
        found = sorted(itertools.islice(path.glob("*.json"), MAX_RESULTS_FILES + 1))
        if not found:
            raise UsageError(f"--results {value}: the folder holds no .json file")
        if len(found) > MAX_RESULTS_FILES:
            raise UsageError(
                f"--results {value}: the folder holds more than {MAX_RESULTS_FILES:,} .json "
                "files; pass the files to gate (or a folder holding only those)"
            )
        return [ResultsFile(p.stem, p) for p in found]
    return [ResultsFile(path.stem, path)]


# --- the declaration: every flag of `eval-gate check`, in --help's and the docs' order ---------


def _text(raw: str) -> str:
    return raw


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw[:40]!r}") from None


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"must be a number of seconds, got {raw[:40]!r}") from None


def _seconds(
    *, allow_zero: bool = False, least: float | None = None
) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        if not math.isfinite(value):
            return f"must be a finite number of seconds, got {value}"
        if least is not None and value < least:
            return f"must be at least {least:g} s, got {value:g}"
        if value < 0 or (value == 0 and not allow_zero):
            return f"must be {'>= 0' if allow_zero else '> 0'}, got {value:g}"
        return None

    return check


def _at_least(low: int, words: str) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return f"must be {words} {low}, got {value}" if value < low else None

    return check


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return convert


_WHAT, _FETCH, _OUT = "what to gate", "fetching", "output"

FLAGS: tuple[Option[Any], ...] = (
    Option(
        "--config",
        "config",
        _text,
        None,
        "the config file",
        shown_default=" then ".join(f"`{n}`" for n in DEFAULT_CONFIGS).replace(" then", ", then"),
        metavar="PATH",
        group=_WHAT,
    ),
    Option(
        "--eval",
        "eval_ids",
        _text,
        (),
        "an evaluation to gate (repeatable), in addition to `evals:`",
        metavar="ID",
        group=_WHAT,
        action="append",
    ),
    Option(
        "--model",
        "models",
        _text,
        (),
        "gate the newest evaluation of this model (repeatable), waiting for one to appear",
        metavar="ID",
        group=_WHAT,
        action="append",
    ),
    Option(
        "--version",
        "versions",
        _text,
        (),
        "gate the newest evaluation on this dataset version (repeatable), waiting for one "
        "to appear",
        metavar="ID",
        group=_WHAT,
        action="append",
    ),
    Option(
        "--baseline",
        "baseline",
        _text,
        None,
        "the baseline for the evaluations given with `--eval`, `--model` and `--version`",
        metavar="ID|auto|champion",
        group=_WHAT,
    ),
    Option(
        "--results",
        "results",
        _text,
        (),
        "saved map-results JSON (repeatable; a folder means every `*.json` in it). The "
        "file's stem is the eval id unless `ID=` is given",
        metavar="[ID=]PATH",
        group=_WHAT,
        action="append",
    ),
    Option(
        "--workspace",
        "workspace",
        _text,
        None,
        "Roboflow workspace",
        shown_default="`ROBOFLOW_WORKSPACE`, then `workspace:`",
        metavar="WS",
        group=_WHAT,
    ),
    Option(
        "--api-url",
        "api_url",
        _text,
        None,
        "API base",
        shown_default=f"`ROBOFLOW_API_URL`, then `{DEFAULT_API_URL}`",
        metavar="URL",
        group=_WHAT,
    ),
    Option(
        "--concurrency",
        "concurrency",
        _whole,
        8,
        "requests in flight at once (one shared connection pool)",
        shown_default="8",
        metavar="N",
        group=_FETCH,
        check=_at_least(1, ">="),
    ),
    Option(
        "--timeout",
        "timeout",
        _number,
        30.0,
        "seconds per request",
        shown_default="30",
        metavar="S",
        group=_FETCH,
        check=_seconds(),
    ),
    Option(
        "--wait",
        "wait",
        _number,
        600.0,
        "how long to wait for a running evaluation",
        shown_default="600",
        metavar="S",
        group=_FETCH,
        check=_seconds(allow_zero=True),
    ),
    Option(
        "--poll-interval",
        "poll_interval",
        _number,
        10.0,
        f"seconds between looks at a running evaluation (at least {MIN_POLL_INTERVAL:g})",
        shown_default="10",
        metavar="S",
        group=_FETCH,
        check=_seconds(least=MIN_POLL_INTERVAL),
    ),
    Option(
        "--deadline",
        "deadline",
        _number,
        None,
        "overall seconds for all fetching",
        shown_default="`--wait` + 120",
        metavar="S",
        group=_FETCH,
        check=_seconds(),
    ),
    Option(
        "--report",
        "report",
        _text,
        None,
        "the full Markdown report (never shortened)",
        metavar="PATH",
        group=_OUT,
    ),
    Option(
        "--json",
        "json",
        _text,
        None,
        'every check as JSON, with a top-level `"verdict"`',
        metavar="PATH",
        group=_OUT,
    ),
    Option(
        "--junit",
        "junit",
        _text,
        None,
        "JUnit XML, one test case per check",
        metavar="PATH",
        group=_OUT,
    ),
    Option(
        "--max-chars",
        "max_chars",
        _whole,
        DEFAULT_MAX_CHARS,
        "shorten the printed report to N characters",
        shown_default=str(DEFAULT_MAX_CHARS),
        metavar="N",
        group=_OUT,
        check=_at_least(MIN_MAX_CHARS, "at least"),
    ),
    Option(
        "--title", "title", _text, "eval-gate", "the report's title", metavar="TEXT", group=_OUT
    ),
    Option(
        "--quiet",
        "quiet",
        _text,
        default=False,
        help="print no report",
        shown_default="—",
        also="-q",
        group=_OUT,
        action="store_true",
    ),
    Option(
        "--fail-on",
        "fail_on",
        _one_of(FAIL_ON),
        FailOn.ERROR.value,
        "`error`: exit 1 on fail; `warning`: on warn too; `never`: always 0",
        metavar="WHEN",
        group=_OUT,
    ),
)

LOG_FORMATS = ("console", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")


def log_flags(default_format: str = "console") -> tuple[Option[Any], ...]:
    """The logging flags every subcommand that logs has (`serve` logs JSON by default)."""
    return (
        Option(
            "--log-format",
            "log_format",
            _one_of(LOG_FORMATS),
            default_format,
            "stderr logs: `console` or `json`",
        ),
        Option(
            "--log-level",
            "log_level",
            _one_of(LOG_LEVELS),
            "info",
            ", ".join(f"`{level}`" for level in LOG_LEVELS),
        ),
    )


def flag_label(option: Option[Any]) -> str:
    """How the docs name a flag: `--config PATH`, `--quiet`, `-q`."""
    label = f"`{option.name}{' ' + option.metavar if option.metavar else ''}`"
    return f"{label}, `{option.also}`" if option.also else label


def flags_table() -> str:
    """docs/command-line.md's table of `eval-gate check`'s options."""
    rows = ((flag_label(o), o.shown(), o.help) for o in (*FLAGS, *log_flags()))
    return markdown_table(("option", "default", "meaning"), rows)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


def build_settings(
    *,
    environ: Mapping[str, str],
    cwd: Path,
    config: str | None = None,
    eval_ids: Sequence[str] = (),
    baseline: str | None = None,
    models: Sequence[str] = (),
    versions: Sequence[str] = (),
    results: Sequence[str] = (),
    workspace: str | None = None,
    api_url: str | None = None,
    concurrency: int = 8,
    timeout: float = 30.0,
    wait: float = 600.0,
    poll_interval: float = 10.0,
    deadline: float | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    report: str | None = None,
    json: str | None = None,
    junit: str | None = None,
    quiet: bool = False,
    fail_on: str = "error",
    title: str = "eval-gate",
    problems: Sequence[str] = (),
) -> CheckSettings:
    """Validate and combine flags and environment into settings (flags win); one
    UsageError lists every problem, after `problems` found while reading the flags."""
    found = list(problems)
    given = {
        "concurrency": concurrency,
        "timeout": timeout,
        "wait": wait,
        "poll_interval": poll_interval,
        "deadline": deadline,
        "max_chars": max_chars,
    }
    for option in FLAGS:
        value = given.get(option.field)
        if value is not None and (problem := option.problem(value)) is not None:
            found.append(problem)
    if fail_on not in FAIL_ON:
        found.append(f"--fail-on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    if found:
        raise UsageError("; ".join(found))
    ids = tuple(dict.fromkeys(i.strip() for i in eval_ids if i.strip()))
    url = _clean(api_url) or _clean(environ.get("ROBOFLOW_API_URL")) or DEFAULT_API_URL
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"API URL must start with http:// or https://, got {url!r}")
    files = tuple(f for r in results for f in parse_results_arg(r, cwd))
    if len(files) > MAX_RESULTS_FILES:
        raise UsageError(
            f"--results names {len(files):,} files, more than {MAX_RESULTS_FILES:,}; "
            "gate fewer evaluations at a time"
        )
    api_key = _clean(environ.get("ROBOFLOW_API_KEY"))
    where = "--api-url" if _clean(api_url) else "ROBOFLOW_API_URL"
    warning = cleartext_key_warning(url, where=where) if api_key else None
    config_path = find_config(config, cwd)
    return CheckSettings(
        config_path=config_path,
        config_shown=shown_path(config_path, cwd),
        eval_ids=ids,
        baseline=_clean(baseline),
        models=_unique(models),
        versions=_unique(versions),
        results=files,
        workspace=_clean(workspace) or _clean(environ.get("ROBOFLOW_WORKSPACE")),
        api_url=url.rstrip("/"),
        api_key=api_key,
        concurrency=concurrency,
        timeout=timeout,
        wait=wait,
        poll_interval=poll_interval,
        deadline=deadline,
        max_chars=max_chars,
        report_path=cwd / report if report else None,
        json_path=cwd / json if json else None,
        junit_path=cwd / junit if junit else None,
        quiet=quiet,
        fail_on=fail_on,
        title=title,
        warnings=(warning,) if warning else (),
    )
