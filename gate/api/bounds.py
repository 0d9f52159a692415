"""How much work a `POST /v1/gate` asks for, measured before the work is done.

The service bounds what one request may cost. The body's bytes are capped by aiohttp, and
`gate.config.loader.load_config` bounds what YAML aliases make its validator walk; what the
validated config expands into is measured here, far more cheaply than doing the work. Both
measures read the validated config, where every alias is expanded, so YAML aliases (`- *r`
is a whole rule in five bytes) cannot sneak checks past them:

- `checks_floor`: the fewest checks a validated config can expand into, from the config
  alone (before anything is fetched): listed splits and classes multiply, `"*"` counts as
  one, every rule applies to at least one evaluation (else the gate is a config error).
- `count_checks`: exactly how many checks `gate.core.evaluate.evaluate` will make from the
  fetched results, without making them (class lists are measured once per split).

- `count_resampling`: at most how many images x resamples the paired bootstraps of the
  rules with `confidence` will draw (each interval once per eval, split, metric and level).

`watched` wraps fetched results so evaluation checks a `StopFlag` as it goes: every check
looks up a value, and every 1,024 lookups the flag is read (a deadline or a cancellation
stops the evaluation between two checks, not after it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from gate.api.stopping import StopFlag
from gate.core.bootstrap import DEFAULT_RESAMPLES
from gate.core.evaluate import EvalInput, rule_applies
from gate.core.model import ALL, GateConfig, Rule
from gate.core.panels import SplitImages
from gate.core.results import EvalResults, Value

__all__ = [
    "DEFAULT_MAX_CHECKS",
    "DEFAULT_MAX_RESAMPLED",
    "Limits",
    "checks_floor",
    "count_checks",
    "count_resampling",
    "watched",
]

DEFAULT_MAX_CHECKS = 20_000  # ~1 s of evaluating, rendering and encoding on one core
# Images x resamples of the paired bootstraps one request may ask for: 10 intervals over 5,000
# paired images (10,000 resamples each), about 2-4 s of one core.
DEFAULT_MAX_RESAMPLED = 500_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """What one gate may cost, as the server's settings say: the longest `wait` a request may
    ask (its deadline), the checks it may expand into, the images x resamples of its intervals."""

    max_wait: float = 120.0
    max_checks: int = DEFAULT_MAX_CHECKS
    max_resampled: int = DEFAULT_MAX_RESAMPLED


def _thresholds(rule: Rule) -> int:
    return max(1, len(rule.thresholds))


def checks_floor(config: GateConfig) -> int:
    """The fewest checks `config` can expand into, whatever the results (see the module).

    Listed splits are always visited, and listed classes always checked in each: they
    multiply. `split: "*"` may find no split at all (one check per threshold), and
    `classes: "*"` may find no class (one check per threshold and split): they count as one.
    """
    total = 0
    for rule in config.rules:
        scopes = 1
        if rule.splits != ALL:
            scopes = max(1, len(rule.splits))
            if isinstance(rule.classes, tuple):
                scopes *= max(1, len(rule.classes))
        total += _thresholds(rule) * scopes
    return total


@dataclass(slots=True)
class _ClassCounts:
    """Class counts of one evaluation's splits, measured once however many rules ask."""

    ev: EvalInput
    plain: dict[str, int | None] = field(default_factory=dict)  # split -> classes (None: none)
    with_baseline: dict[str, int | None] = field(default_factory=dict)

    def count(self, split: str, *, regression: bool) -> int | None:
        """How many classes a `classes: "*"` rule checks in `split` (None: not a list)."""
        cache = self.with_baseline if regression else self.plain
        if split not in cache:
            cache[split] = self._measure(split, regression=regression)
        return cache[split]

    def _measure(self, split: str, *, regression: bool) -> int | None:
        names = self.ev.results.class_names(split)
        if not isinstance(names, list):
            return None
        if not regression or self.ev.baseline is None:
            return len(names)
        base_names = self.ev.baseline.class_names(split)
        if not isinstance(base_names, list):
            return len(names)
        seen = set(names)
        return len(names) + sum(1 for name in base_names if name not in seen)


def _rule_checks(rule: Rule, ev: EvalInput, classes: _ClassCounts) -> int:
    per_scope = len(rule.thresholds)
    splits = ev.results.split_names() if rule.splits == ALL else list(rule.splits)
    if not splits:
        return per_scope
    if rule.classes is None:
        return per_scope * len(splits)
    if rule.classes != ALL:
        return per_scope * len(splits) * len(rule.classes)
    total = 0
    for split in splits:
        count = classes.count(split, regression=rule.is_regression)
        total += per_scope * (count or 1)  # no list, or an empty one: one check
    return total


def count_checks(config: GateConfig, inputs: Sequence[EvalInput]) -> int:
    """Exactly how many checks `evaluate(config, inputs)` makes (if the config is valid for
    those inputs), in time proportional to rules x evaluations x splits plus the classes."""
    counts = [_ClassCounts(ev) for ev in inputs]
    return sum(
        _rule_checks(rule, ev, classes)
        for rule in config.rules
        for ev, classes in zip(inputs, counts, strict=True)
        if rule_applies(rule, ev)
    )


@dataclass(frozen=True, slots=True)
class _Watched(EvalResults):
    """Results that read a StopFlag every 1,024 value lookups (one lookup per check)."""

    flag: StopFlag = field(default_factory=StopFlag, repr=False, compare=False)

    def value(
        self,
        metric: str,
        split: str,
        class_name: str | None = None,
        object_size: str | None = None,
    ) -> Value:
        self.flag.tick()
        # Not super(): dataclass(slots=True) makes a new class, which zero-argument super() misses.
        return EvalResults.value(self, metric, split, class_name, object_size)


def _watch(results: EvalResults, flag: StopFlag) -> EvalResults:
    return _Watched(results.eval_id, results.task_type, results.splits, flag)


def watched(inputs: Sequence[EvalInput], flag: StopFlag) -> list[EvalInput]:
    """`inputs` whose evaluation stops (WorkStopped) soon after `flag` is stopped."""
    return [dataclasses.replace(ev, results=_watch(ev.results, flag)) for ev in inputs]


def count_resampling(config: GateConfig, inputs: Sequence[EvalInput]) -> int:
    """At most how many images x resamples `evaluate(config, inputs)` draws for its confidence
    intervals: one interval per eval, split, metric and level, over at most as many pairs as
    the smaller of the two evals' image lists (cheap: lengths, not pairing)."""
    seen: set[tuple[str, str, str, float]] = set()
    total = 0
    for ev in inputs:
        if ev.baseline is None:
            continue
        for rule in config.rules:
            if rule.confidence is None or not rule.is_regression or not rule_applies(rule, ev):
                continue
            splits = ev.results.split_names() if rule.splits == ALL else list(rule.splits)
            for split in splits:
                key = (ev.spec.id, split, rule.metric, rule.confidence)
                if key in seen:
                    continue
                seen.add(key)
                mine, theirs = ev.panels.images_of(split), ev.baseline_panels.images_of(split)
                if isinstance(mine, SplitImages) and isinstance(theirs, SplitImages):
                    total += min(len(mine.images), len(theirs.images)) * DEFAULT_RESAMPLES
    return total
