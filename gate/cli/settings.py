"""Settings of `eval-gate check`, built from parsed arguments and an environ mapping passed in."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gate.core.errors import UsageError
from gate.core.model import FAIL_ON
from gate.local_files import MAX_RESULTS_FILES, ResultsFile
from gate.report.render import DEFAULT_MAX_CHARS
from gate.roboflow.api import DEFAULT_API_URL
from gate.sources import cleartext_key_warning

DEFAULT_CONFIGS = ("eval-gate.yml", ".github/eval-gate.yml")


@dataclass(frozen=True, slots=True)
class CheckSettings:
    config_path: Path
    eval_ids: tuple[str, ...] = ()
    baseline: str | None = None
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
        "no config found: create eval-gate.yml or .github/eval-gate.yml (see README), "
        "or pass --config PATH"
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


def _positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number of seconds, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        raise UsageError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value:g}")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def build_settings(
    *,
    environ: Mapping[str, str],
    cwd: Path,
    config: str | None = None,
    eval_ids: Sequence[str] = (),
    baseline: str | None = None,
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
) -> CheckSettings:
    """Validate and combine flags and environment into settings (flags win)."""
    if concurrency < 1:
        raise UsageError(f"--concurrency must be >= 1, got {concurrency}")
    _positive("--timeout", timeout)
    _positive("--wait", wait, allow_zero=True)
    _positive("--poll-interval", poll_interval)
    if deadline is not None:
        _positive("--deadline", deadline)
    if max_chars < 1000:
        raise UsageError(f"--max-chars must be at least 1000, got {max_chars}")
    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
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
    return CheckSettings(
        config_path=find_config(config, cwd),
        eval_ids=ids,
        baseline=_clean(baseline),
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
