"""How long does rendering the report take, in-process, at 300 and 2,000 classes?

Builds the gate's outcome once per scenario (config + map-results, evaluated in this process)
and times `gate.report.render.render_report` alone (the report's caches cleared before each
call, as in a fresh process) for each place the report goes: the PR comment
(65,000 characters), a check run (65,535 characters), the job summary (1 MiB of UTF-8) and
the full report (no limit). Scenarios:

- `parts-300`: examples/large/ (one split-level floor, a per-class floor, a per-class
  regression rule; 601 checks, 194 failing);
- `parts-2000`: the same detector with 2,000 classes (4,001 checks);
- `large-14007`: the config and results of bench/large_report.py (2,000 classes x 3 splits,
  7 rules, 14,007 checks).

With `--against REV` the report module and templates of that git revision (e.g. the commit
before the redesign) are timed too, interleaved, on the same outcomes.

    /work/venv/bin/python bench/render_report.py [--runs 7] [--against REV]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from _common import REPO, BenchError, Row, Stats, handle_termination, machine, table

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from gate.config.loader import load_config
from gate.core.evaluate import EvalInput, evaluate
from gate.core.outcome import GateOutcome
from gate.core.results import parse_map_results

LIMITS: dict[str, dict[str, int | None]] = {
    "comment": {"max_chars": 65_000},
    "check run": {"max_chars": 65_535},
    "job summary": {"max_chars": None, "max_bytes": 1024 * 1024},
    "full": {"max_chars": None},
}
COMMENT_TARGET_S = 1.0  # what tests/test_report.py allows a 24,000-check comment


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _outcome(config_text: str, candidate: Any, baseline: Any, ids: tuple[str, str]) -> GateOutcome:
    config = load_config(config_text, "eval-gate.yml")
    spec = next((e for e in config.evals if e.id == ids[0]), None)
    if spec is None:
        from gate.core.model import EvalSpec  # noqa: PLC0415

        spec = EvalSpec(ids[0])
    return evaluate(
        config,
        [
            EvalInput(
                spec=spec,
                results=parse_map_results(candidate, ids[0]),
                baseline=parse_map_results(baseline, ids[1]),
                baseline_id=ids[1],
            )
        ],
    )


def scenarios() -> dict[str, GateOutcome]:
    large = REPO / "examples" / "large"
    generator = _load("bench_large_generate", large / "generate.py")
    config = (large / "eval-gate.yml").read_text(encoding="utf-8")
    ids = (generator.CANDIDATE, generator.BASELINE)
    out = {f"parts-{n}": _outcome(config, *generator.generate(n), ids=ids) for n in (300, 2000)}
    import large_report  # noqa: PLC0415 - a sibling benchmark: its inputs and config

    with tempfile.TemporaryDirectory() as tmp:
        results, base, _ = large_report.write_inputs(Path(tmp))
        documents = [json.loads(p.read_text(encoding="utf-8")) for p in (results, base)]
    ids = (large_report.EVAL_ID, large_report.BASELINE_ID)
    outcome = _outcome(large_report.CONFIG, *documents, ids=ids)
    out[f"large-{sum(1 for _ in outcome.checks)}"] = outcome
    return out


def report_at(rev: str, directory: Path) -> Callable[..., str]:
    """`render_report` as it was at git revision `rev` (its module and templates)."""
    templates = directory / "templates"
    templates.mkdir()
    for name in ("report.md.j2", "_blocks.md.j2"):
        text = _git_show(rev, f"templates/{name}")
        (templates / name).write_text(text, encoding="utf-8")
    (directory / "report_then.py").write_text(_git_show(rev, "gate/report.py"), encoding="utf-8")
    module = _load("report_then", directory / "report_then.py")
    module.find_template_dir = lambda _package: templates
    render: Callable[..., str] = module.render_report
    return render


def _git_show(rev: str, path: str) -> str:
    proc = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise BenchError(f"git show {rev}:{path}: {proc.stderr.strip()}")
    return proc.stdout


def _cold(render: Callable[..., str]) -> None:
    """Forget what the report's modules remember between calls (escaped names, the compiled
    templates): each timed call pays for it, as the first call of a process does. The report
    is a package (`gate.report.*`); at an older revision it was one module."""
    package = render.__module__.rpartition(".")[0] or render.__module__
    modules = [m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")]
    for module in modules:
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == module.__name__:
                clear()


def _kwargs(render: Callable[..., str], limits: dict[str, int | None]) -> dict[str, Any] | None:
    """The limits as this render function takes them (an older one has no max_bytes)."""
    code = render.__code__
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    if "max_bytes" in limits and "max_bytes" not in names:
        return None
    return dict(limits)


def run(runs: int = 7, against: str | None = None) -> list[Row]:
    from gate.report.render import render_report  # noqa: PLC0415

    print(f"## report rendering, in-process ({machine()})\n")
    outcomes = scenarios()
    with tempfile.TemporaryDirectory() as tmp:
        renders: dict[str, Callable[..., str]] = {"now": render_report}
        if against:
            renders[against] = report_at(against, Path(tmp))
        rows = []
        for scenario, outcome in outcomes.items():
            checks = sum(1 for _ in outcome.checks)
            failing = sum(1 for c in outcome.checks if c.failing)
            print(f"### {scenario}: {checks:,} checks, {failing:,} failing\n")
            for place, limits in LIMITS.items():
                samples: dict[str, list[float]] = {name: [] for name in renders}
                sizes: dict[str, tuple[int, int]] = {}
                for index in range(runs + 1):  # the first round warms up and is not counted
                    for name, render in renders.items():
                        kwargs = _kwargs(render, limits)
                        if kwargs is None:
                            continue
                        _cold(render)
                        start = time.perf_counter()
                        text = render(outcome, **kwargs)
                        elapsed = time.perf_counter() - start
                        if index:
                            samples[name].append(elapsed)
                        sizes[name] = (len(text), len(text.encode()))
                for name, times in samples.items():
                    if not times:
                        print(f"- {place} [{name}]: not supported (no max_bytes)")
                        continue
                    stats = Stats.of(times)
                    chars, size = sizes[name]
                    print(
                        f"- {place} [{name}]: {stats.fmt()}; {chars:,} characters, {size:,} bytes"
                    )
                now = Stats.of(samples["now"])
                met = now.median <= COMMENT_TARGET_S if place == "comment" else None
                rows.append(
                    Row(
                        f"render {place}: {scenario} ({checks:,} checks)",
                        f"{now.median * 1000:.0f} ms"
                        + "".join(
                            f" (at {name}: {Stats.of(t).median * 1000:.0f} ms)"
                            for name, t in samples.items()
                            if name != "now" and t
                        ),
                        f"<= {COMMENT_TARGET_S:g} s" if place == "comment" else "-",
                        met,
                    )
                )
            print()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs (default 7)")
    parser.add_argument("--against", metavar="REV", help="also time the report at this revision")
    args = parser.parse_args()
    handle_termination()
    try:
        rows = run(max(1, args.runs), args.against)
    except BenchError as error:
        print(f"render_report: {error}", file=sys.stderr)
        return 2
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
