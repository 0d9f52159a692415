"""Numbers, names and counts as the report writes them.

Numbers have four decimals and a real minus sign (U+2212, as wide as a plus sign); a missing
value is `—`. Untrusted text (class, split and metric names, labels, messages) is cut short
first, so one row cannot eat the whole budget, then escaped (`gate.report.markdown`), each
distinct string once. Every function returns a finished piece of Markdown.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gate.core.metrics import METRICS
from gate.core.model import ThresholdKind
from gate.core.outcome import Check, Status, Verdict
from gate.report.markdown import md_text

__all__ = [
    "MAX_CLASS",
    "MAX_LABEL",
    "MAX_MESSAGE",
    "STATUS_ICONS",
    "VERDICT_WORDS",
    "WARNINGS_FAIL_WORDS",
    "Tally",
    "change",
    "class_cell",
    "clip",
    "interval",
    "metric_cell",
    "metric_text",
    "num",
    "percent",
    "plural",
    "signed",
    "threshold_cell",
    "threshold_rule",
    "untrusted",
]

# Untrusted strings are cut (before escaping) to keep one row from eating the whole budget.
MAX_LABEL = 200
MAX_CLASS = 100
MAX_MESSAGE = 160

VERDICT_WORDS: dict[Verdict, tuple[str, str]] = {
    Verdict.PASS: ("✅", "Passed"),
    Verdict.WARN: ("⚠️", "Passed with warnings"),
    Verdict.FAIL: ("❌", "Failed"),
}
# The heading of a gate that only warned, under `fail-on: warning` (it did not pass).
WARNINGS_FAIL_WORDS = ("❌", "Failed on warnings (fail-on: warning)")
STATUS_ICONS: dict[Status, str] = {
    Status.PASS: "✅",
    Status.FAIL: "❌",
    Status.ERROR: "🚫",
    Status.WARN: "⚠️",
    Status.SKIP: "⏭️",
}

_MINUS = "\u2212"  # U+2212, a real minus sign: as wide as the plus sign of a positive delta


def num(value: float | None) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else _MINUS + "∞")
    text = f"{value:.4f}"
    return text if value >= 0 else text.replace("-", _MINUS)


def signed(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return num(value)
    magnitude = f"{abs(value):.4f}"
    if magnitude == "0.0000":
        return "±0.0000"
    return ("+" if value > 0 else _MINUS) + magnitude


def percent(value: float) -> str:
    magnitude = f"{abs(value):.1f}"
    if magnitude == "0.0":
        return "±0.0%"
    return ("+" if value > 0 else _MINUS) + magnitude + "%"


def _g(value: float) -> str:
    return f"{value:g}".replace("-", _MINUS)


def threshold_cell(check: Check) -> str:
    """The threshold as a row of a table shows it: `≥ 0.5000`, `drop ≤ 3% (≥ 0.7500)`."""
    text = _threshold(check, num)
    if check.kind.is_regression and check.limit is not None:
        text += f" (≥ {num(check.limit)})"  # the value the drop allows
    return text


def threshold_rule(check: Check) -> str:
    """The threshold as written in the config: `≥ 0.5`, `drop ≤ 3%`."""
    return _threshold(check, _g)


def _threshold(check: Check, bound: Callable[[float], str]) -> str:
    """`≥ x`, `≤ x` (x written by `bound`), or the drop allowed as written in the config."""
    kind = check.kind
    if kind is ThresholdKind.MIN:
        return f"≥ {bound(check.threshold)}"
    if kind is ThresholdKind.MAX:
        return f"≤ {bound(check.threshold)}"
    return f"drop ≤ {_g(check.threshold)}" + ("%" if kind is ThresholdKind.MAX_DROP_PCT else "")


def change(check: Check) -> str:
    """The number a summary line gives for a check: its value, or its change for a drop."""
    if not check.kind.is_regression or check.delta is None:
        return num(check.actual)
    if check.kind is ThresholdKind.MAX_DROP_PCT and check.baseline:
        return percent(check.delta / check.baseline * 100)
    return signed(check.delta)


def _bound(value: float) -> str:
    """An interval's bound, always with its sign (a real minus sign, or `+` for 0 and above),
    never `±`: which side of zero a bound lies on is what the interval says."""
    if not math.isfinite(value):
        return num(value)
    return (_MINUS if value < 0 else "+") + f"{abs(value):.4f}"


def interval(check: Check) -> str:
    """` (95%: -0.0510 to -0.0090)` (real minus signs), and whether that leaves the drop
    inconclusive."""
    found = check.interval
    if found is None:
        return ""
    text = f" ({found.confidence * 100:g}%: {_bound(found.low)} to {_bound(found.high)})"
    return text + (" inconclusive" if found.judgement == "inconclusive" else "")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Class, split and metric names repeat across rules and rows: each is escaped once (a bounded
# cache: a few MB at most, even for the longest hostile names).
@functools.lru_cache(maxsize=4096)
def untrusted(text: str, limit: int) -> str:
    return md_text(clip(text, limit))


@functools.lru_cache(maxsize=1 << 10)
def metric_text(metric: str, object_size: str | None) -> str:
    """A metric by its label (`mAP@50`), and the object size it is measured on."""
    spec = METRICS.get(metric)
    text = md_text(spec.label if spec else clip(metric, MAX_CLASS))
    if object_size:
        text += f" ({untrusted(object_size, MAX_CLASS)})"
    return text


def metric_cell(check: Check) -> str:
    return metric_text(check.metric, check.object_size)


def class_cell(name: str | None) -> str:
    if name is None:
        return ""
    if not name.strip():
        return "_(blank)_"
    return untrusted(name, MAX_CLASS)


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 check`, `2 checks`; `many` when adding an `s` is not the plural."""
    return f"{count:,} {singular if count == 1 else (many or singular + 's')}"


@dataclass(frozen=True, slots=True)
class Tally:
    """How many checks got each status, in words."""

    passed: int = 0
    failed: int = 0  # fail + error
    malformed: int = 0  # error
    warned: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, statuses: Iterable[Status]) -> Tally:
        counts = dict.fromkeys(Status, 0)
        for status in statuses:
            counts[status] += 1
        return cls(
            passed=counts[Status.PASS],
            failed=counts[Status.FAIL] + counts[Status.ERROR],
            malformed=counts[Status.ERROR],
            warned=counts[Status.WARN],
            skipped=counts[Status.SKIP],
        )

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.warned + self.skipped

    def _failed(self) -> str:
        text = f"{self.failed:,} failed"
        if self.malformed:
            text += f" ({self.malformed:,} with malformed data)"
        return text

    def full(self) -> str:
        """Every count, zeros included: `3 failed, 1 warning, 7 passed, 0 skipped`."""
        return ", ".join(
            (
                self._failed(),
                plural(self.warned, "warning"),
                f"{self.passed:,} passed",
                f"{self.skipped:,} skipped",
            )
        )

    def nonzero(self, *, passed: bool = True) -> str:
        """Only the counts that are not zero: `3 failed, 20 passed`."""
        parts = []
        if self.failed:
            parts.append(self._failed())
        if self.warned:
            parts.append(plural(self.warned, "warning"))
        if self.passed and passed:
            parts.append(f"{self.passed:,} passed")
        if self.skipped:
            parts.append(f"{self.skipped:,} skipped")
        return ", ".join(parts)
